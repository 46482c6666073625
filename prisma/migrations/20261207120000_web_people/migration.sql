-- CreateTable
CREATE TABLE "WebPerson" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "credentialId" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "passkey" TEXT NOT NULL,
    "counter" INTEGER NOT NULL,
    "enrolledAt" DATETIME NOT NULL,
    "lastSignInAt" DATETIME,
    "revokedAt" DATETIME
);

-- CreateTable
CREATE TABLE "WebInvite" (
    "tokenHash" TEXT NOT NULL PRIMARY KEY,
    "person" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME
);

-- CreateTable
CREATE TABLE "WebSession" (
    "idHash" TEXT NOT NULL PRIMARY KEY,
    "person" TEXT NOT NULL,
    "csrf" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "endedAt" DATETIME
);

-- CreateTable
CREATE TABLE "WebEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL,
    "person" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "detail" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "WebPerson_credentialId_key" ON "WebPerson"("credentialId");

-- CreateIndex
CREATE INDEX "WebInvite_person_idx" ON "WebInvite"("person");

-- CreateIndex
CREATE INDEX "WebSession_person_idx" ON "WebSession"("person");

-- CreateIndex
CREATE INDEX "WebEvent_person_idx" ON "WebEvent"("person");

