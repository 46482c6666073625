-- AlterTable
ALTER TABLE "Decision" ADD COLUMN "sentFrom" TEXT;
