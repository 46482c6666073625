-- AlterTable
ALTER TABLE "Decision" ADD COLUMN     "evidence" TEXT;

