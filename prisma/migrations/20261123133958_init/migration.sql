-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "runbookName" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "mode" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "runbookVersion" TEXT NOT NULL,
    "versionHash" TEXT NOT NULL,
    "runbookSource" TEXT NOT NULL,
    "startedBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    "plannedStart" DATETIME,
    "windowMs" INTEGER,
    "outcome" TEXT,
    "backoutTrigger" TEXT,
    "backoutReason" TEXT,
    "backoutRequestedBy" TEXT,
    "backoutStartedAt" DATETIME,
    "backoutEndedAt" DATETIME,
    "stateJson" TEXT,
    "temporalRunId" TEXT
);

-- CreateTable
CREATE TABLE "StepRun" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
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
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    "exitCode" INTEGER,
    "outputTail" TEXT,
    "error" TEXT,
    "idempotencyKey" TEXT NOT NULL,
    CONSTRAINT "StepRun_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "CheckResult" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "passed" BOOLEAN NOT NULL,
    "detail" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    CONSTRAINT "CheckResult_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Decision" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "by" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "target" TEXT,
    "reason" TEXT,
    "at" DATETIME NOT NULL,
    "automatic" BOOLEAN NOT NULL,
    CONSTRAINT "Decision_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
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

