/** The workflows a cutover worker runs. */
export { cutoverRun } from './cutover-run.js';
export { cutoverNotify } from './notify-run.js';
// Runs started by the first version finish on today's workers.
export { runRunbook } from './legacy/run-runbook-v1.js';
