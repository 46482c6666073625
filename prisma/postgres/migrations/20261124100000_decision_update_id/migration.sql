-- AlterTable
ALTER TABLE "Decision" ADD COLUMN     "updateId" TEXT;
