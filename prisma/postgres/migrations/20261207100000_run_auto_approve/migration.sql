-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "autoApprove" BOOLEAN;
