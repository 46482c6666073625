-- CreateTable
CREATE TABLE "WebPerson" (
    "name" TEXT NOT NULL,
    "credentialId" TEXT NOT NULL,
    "publicKey" TEXT NOT NULL,
    "passkey" TEXT NOT NULL,
    "counter" INTEGER NOT NULL,
    "enrolledAt" TIMESTAMP(3) NOT NULL,
    "lastSignInAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "WebPerson_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "WebInvite" (
    "tokenHash" TEXT NOT NULL,
    "person" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),

    CONSTRAINT "WebInvite_pkey" PRIMARY KEY ("tokenHash")
);

-- CreateTable
CREATE TABLE "WebSession" (
    "idHash" TEXT NOT NULL,
    "person" TEXT NOT NULL,
    "csrf" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "WebSession_pkey" PRIMARY KEY ("idHash")
);

-- CreateTable
CREATE TABLE "WebEvent" (
    "id" SERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "person" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "detail" TEXT,

    CONSTRAINT "WebEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "WebPerson_credentialId_key" ON "WebPerson"("credentialId");

-- CreateIndex
CREATE INDEX "WebInvite_person_idx" ON "WebInvite"("person");

-- CreateIndex
CREATE INDEX "WebSession_person_idx" ON "WebSession"("person");

-- CreateIndex
CREATE INDEX "WebEvent_person_idx" ON "WebEvent"("person");
