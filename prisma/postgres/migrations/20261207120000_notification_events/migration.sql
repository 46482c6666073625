-- CreateTable
CREATE TABLE "NotificationEvent" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "eventId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "summary" TEXT NOT NULL,
    "eventJson" TEXT NOT NULL,

    CONSTRAINT "NotificationEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "NotificationEvent_runId_idx" ON "NotificationEvent"("runId");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationEvent_runId_eventId_key" ON "NotificationEvent"("runId", "eventId");
