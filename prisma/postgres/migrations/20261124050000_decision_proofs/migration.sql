-- AlterTable
ALTER TABLE "Decision" ADD COLUMN     "hash" TEXT,
ADD COLUMN     "signatureJson" TEXT;

