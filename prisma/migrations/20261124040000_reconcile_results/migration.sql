-- CreateTable
CREATE TABLE "ReconcileResult" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "check" TEXT NOT NULL,
    "round" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME NOT NULL,
    "withinLimits" BOOLEAN NOT NULL,
    "matched" BIGINT NOT NULL,
    "missingInTarget" BIGINT NOT NULL,
    "extraInTarget" BIGINT NOT NULL,
    "mismatched" BIGINT NOT NULL,
    "resultJson" TEXT NOT NULL,
    CONSTRAINT "ReconcileResult_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "ReconcileResult_runId_stepId_attempt_check_round_key" ON "ReconcileResult"("runId", "stepId", "attempt", "check", "round");

