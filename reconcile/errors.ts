/**
 * What can go wrong in a reconciliation that is not a bug: one class per condition, each with a
 * message that is one sentence naming the side (and the column and row when known) and the fix.
 * The CLI maps them to exit codes; an activity maps them to a failed step.
 */

/** Thrown when a side cannot be reached or read: missing file, wrong password, no such table or column. */
export class SourceError extends Error {
  constructor(
    /** `source` or `target`. */
    readonly side: 'source' | 'target',
    message: string,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

/** Thrown when a value cannot be compared the way the config says (a key that is not an integer, a date that is not one). */
export class DataError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    message: string,
    /** The column, when known. */
    readonly column?: string,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** Thrown when a side returns keys out of order: the database's ordering and cutover's disagree (a bug to report). */
export class OrderError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    message: string,
  ) {
    super(message);
    this.name = 'OrderError';
  }
}

/** Thrown when the caller's signal stops a reconciliation; no partial result is returned. */
export class ReconcileCancelledError extends Error {
  constructor() {
    super('the reconciliation was cancelled before it finished; no result was recorded');
    this.name = 'ReconcileCancelledError';
  }
}
