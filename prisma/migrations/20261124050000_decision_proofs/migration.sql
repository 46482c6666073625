-- AlterTable
ALTER TABLE "Decision" ADD COLUMN "hash" TEXT;
ALTER TABLE "Decision" ADD COLUMN "signatureJson" TEXT;

