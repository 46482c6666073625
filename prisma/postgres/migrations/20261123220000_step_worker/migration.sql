-- AlterTable
ALTER TABLE "StepRun" ADD COLUMN     "worker" TEXT;
