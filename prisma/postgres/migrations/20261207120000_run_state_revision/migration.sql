-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "stateExecution" INTEGER,
ADD COLUMN     "stateRevision" INTEGER;
