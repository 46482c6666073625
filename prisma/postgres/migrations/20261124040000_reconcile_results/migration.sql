-- CreateTable
CREATE TABLE "ReconcileResult" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "check" TEXT NOT NULL,
    "round" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3) NOT NULL,
    "withinLimits" BOOLEAN NOT NULL,
    "matched" BIGINT NOT NULL,
    "missingInTarget" BIGINT NOT NULL,
    "extraInTarget" BIGINT NOT NULL,
    "mismatched" BIGINT NOT NULL,
    "resultJson" TEXT NOT NULL,

    CONSTRAINT "ReconcileResult_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ReconcileResult_runId_stepId_attempt_check_round_key" ON "ReconcileResult"("runId", "stepId", "attempt", "check", "round");

-- AddForeignKey
ALTER TABLE "ReconcileResult" ADD CONSTRAINT "ReconcileResult_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

