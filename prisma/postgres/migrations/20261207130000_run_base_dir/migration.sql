-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "baseDir" TEXT;
