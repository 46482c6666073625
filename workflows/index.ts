/** The workflows a cutover worker runs. */
export { runRunbook } from './run-runbook.js';
