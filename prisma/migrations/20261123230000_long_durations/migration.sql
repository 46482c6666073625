-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Run" (
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
    "windowMs" BIGINT,
    "outcome" TEXT,
    "backoutTrigger" TEXT,
    "backoutReason" TEXT,
    "backoutRequestedBy" TEXT,
    "backoutStartedAt" DATETIME,
    "backoutEndedAt" DATETIME,
    "stateJson" TEXT,
    "temporalRunId" TEXT
);
INSERT INTO "new_Run" ("backoutEndedAt", "backoutReason", "backoutRequestedBy", "backoutStartedAt", "backoutTrigger", "createdAt", "endedAt", "id", "mode", "number", "outcome", "plannedStart", "runbookName", "runbookSource", "runbookVersion", "startedAt", "startedBy", "stateJson", "status", "temporalRunId", "versionHash", "windowMs") SELECT "backoutEndedAt", "backoutReason", "backoutRequestedBy", "backoutStartedAt", "backoutTrigger", "createdAt", "endedAt", "id", "mode", "number", "outcome", "plannedStart", "runbookName", "runbookSource", "runbookVersion", "startedAt", "startedBy", "stateJson", "status", "temporalRunId", "versionHash", "windowMs" FROM "Run";
DROP TABLE "Run";
ALTER TABLE "new_Run" RENAME TO "Run";
CREATE INDEX "Run_createdAt_idx" ON "Run"("createdAt");
CREATE UNIQUE INDEX "Run_runbookName_number_key" ON "Run"("runbookName", "number");
CREATE TABLE "new_StepRun" (
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
    "plannedStartMs" BIGINT,
    "plannedDurationMs" BIGINT,
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    "exitCode" INTEGER,
    "outputTail" TEXT,
    "error" TEXT,
    "idempotencyKey" TEXT NOT NULL,
    "worker" TEXT,
    CONSTRAINT "StepRun_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_StepRun" ("attempt", "endedAt", "error", "exitCode", "id", "idempotencyKey", "kind", "outputTail", "owner", "phaseId", "plannedDurationMs", "plannedStartMs", "purpose", "runId", "startedAt", "status", "stepId", "title", "treatment", "worker") SELECT "attempt", "endedAt", "error", "exitCode", "id", "idempotencyKey", "kind", "outputTail", "owner", "phaseId", "plannedDurationMs", "plannedStartMs", "purpose", "runId", "startedAt", "status", "stepId", "title", "treatment", "worker" FROM "StepRun";
DROP TABLE "StepRun";
ALTER TABLE "new_StepRun" RENAME TO "StepRun";
CREATE UNIQUE INDEX "StepRun_runId_stepId_purpose_attempt_key" ON "StepRun"("runId", "stepId", "purpose", "attempt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

