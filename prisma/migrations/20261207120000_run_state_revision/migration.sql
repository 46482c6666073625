-- AlterTable
ALTER TABLE "Run" ADD COLUMN "stateExecution" INTEGER;
ALTER TABLE "Run" ADD COLUMN "stateRevision" INTEGER;
