-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL,
    "runbookName" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "mode" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "runbookVersion" TEXT NOT NULL,
    "versionHash" TEXT NOT NULL,
    "runbookSource" TEXT NOT NULL,
    "startedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "plannedStart" TIMESTAMP(3),
    "windowMs" INTEGER,
    "outcome" TEXT,
    "backoutTrigger" TEXT,
    "backoutReason" TEXT,
    "backoutRequestedBy" TEXT,
    "backoutStartedAt" TIMESTAMP(3),
    "backoutEndedAt" TIMESTAMP(3),
    "stateJson" TEXT,
    "temporalRunId" TEXT,

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StepRun" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "phaseId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "treatment" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "plannedStartMs" INTEGER,
    "plannedDurationMs" INTEGER,
    "startedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "exitCode" INTEGER,
    "outputTail" TEXT,
    "error" TEXT,
    "idempotencyKey" TEXT NOT NULL,

    CONSTRAINT "StepRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CheckResult" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "passed" BOOLEAN NOT NULL,
    "detail" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CheckResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Decision" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "by" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "target" TEXT,
    "reason" TEXT,
    "at" TIMESTAMP(3) NOT NULL,
    "automatic" BOOLEAN NOT NULL,

    CONSTRAINT "Decision_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Run_createdAt_idx" ON "Run"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Run_runbookName_number_key" ON "Run"("runbookName", "number");

-- CreateIndex
CREATE UNIQUE INDEX "StepRun_runId_stepId_purpose_attempt_key" ON "StepRun"("runId", "stepId", "purpose", "attempt");

-- CreateIndex
CREATE UNIQUE INDEX "CheckResult_runId_stepId_attempt_seq_key" ON "CheckResult"("runId", "stepId", "attempt", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "Decision_runId_seq_key" ON "Decision"("runId", "seq");

-- AddForeignKey
ALTER TABLE "StepRun" ADD CONSTRAINT "StepRun_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CheckResult" ADD CONSTRAINT "CheckResult_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Decision" ADD CONSTRAINT "Decision_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

