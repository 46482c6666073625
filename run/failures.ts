/**
 * Failure types a run can end with, in one place: workflow code raises
 * `ApplicationFailure.create({ type, nonRetryable: true })` with these, clients match on them.
 */
export const FAILURE_TYPE = {
  /** The runbook given to the workflow breaks a rule validation should have caught. */
  invalidInput: 'CutoverInvalidInput',
  /** An action failed on its last attempt; the message says why. */
  actionFailed: 'CutoverActionFailed',
  /** A check after an action did not pass. */
  checkFailed: 'CutoverCheckFailed',
  /** An action kind this version cannot run. */
  unsupportedAction: 'CutoverUnsupportedAction',
  /** The action did not start (its start could not be recorded): safe to retry. */
  notStarted: 'CutoverNotStarted',
  /** The worker stopped (Ctrl-C, maintenance) while the action ran; it was left running. */
  workerStopped: 'CutoverWorkerStopped',
  /** A person's request that the run could check only after accepting it (just after a hand-over). */
  requestRefused: 'CutoverRequestRefused',
  /**
   * The action finished but the worker stopped while its checks were asked; `details[0]` is the
   * action's `ActionSummary`, so the workflow asks the (read-only) checks again.
   */
  checksInterrupted: 'CutoverChecksInterrupted',
  /** The worker's record store does not know the run: CLI and workers use different stores. */
  runNotRecorded: 'CutoverRunNotRecorded',
  /** The run's start is not the one the record store reserved (another mode, auto-approve or version, an id used before). */
  startRefused: 'CutoverStartRefused',
  /**
   * A start or an Update arrived unencrypted at a worker with CUTOVER_PAYLOAD_KEY (run/unencrypted.ts). Its message stays
   * plain text even there (worker/failure-converter.ts): its sender has no key to read it otherwise.
   */
  unencryptedInput: 'CutoverUnencryptedInput',
} as const;
