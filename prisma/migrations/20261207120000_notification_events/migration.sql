-- CreateTable
CREATE TABLE "NotificationEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "runId" TEXT NOT NULL,
    "eventId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "summary" TEXT NOT NULL,
    "eventJson" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "NotificationEvent_runId_idx" ON "NotificationEvent"("runId");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationEvent_runId_eventId_key" ON "NotificationEvent"("runId", "eventId");
