/**
 * SIGINT, SIGTERM and SIGHUP for the commands that start or host runs (`rehearse`, `run`, `worker`).
 *
 * The first one asks the command to stop in good order: stop following, shut the in-process worker down, wait for
 * other cutover processes that share the embedded server, stop the server last. A closed terminal (SIGHUP) is such
 * a request too, like SIGTERM. A second one (the impatient lead's second Ctrl-C) means "now": the embedded server is
 * stopped with a short grace and the process exits at once; a third does not wait even for that. Whatever happens,
 * the server is not left behind: a death that runs no code at all (SIGKILL) is handled by the server's supervisor
 * (see temporal-server.ts).
 *
 * Once a command listens here, Node's default action for these signals (die on the spot, running no clean-up) is
 * off for the rest of the process.
 */
import { EXIT } from './errors.js';

/** The signals that end a command. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

const requests = new Set<(signal: StopSignal) => void>();
const lastResorts = new Set<() => Promise<void>>();
let received = 0;
let installed = false;

/** Calls `fn` on the first stop signal; returns how to stop listening. */
export function onStopRequest(fn: (signal: StopSignal) => void): () => void {
  install();
  requests.add(fn);
  return () => requests.delete(fn);
}

/**
 * Registers what must still happen when the process is about to exit on a repeated signal (stopping the embedded
 * server it started); returns how to unregister it. Keep it quick: the user asked twice.
 */
export function beforeForcedExit(fn: () => Promise<void>): () => void {
  install();
  lastResorts.add(fn);
  return () => lastResorts.delete(fn);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of STOP_SIGNALS) process.on(signal, () => handle(signal));
}

function handle(signal: StopSignal): void {
  received += 1;
  if (received === 1 && requests.size > 0) {
    for (const fn of [...requests]) fn(signal);
    return;
  }
  if (received > 2) process.exit(EXIT.interrupted);
  // Nobody is waiting for a polite request (or this is the second one): stop what must not outlive us, then leave.
  if (signal !== 'SIGHUP') writeQuietly('cutover: stopping now\n');
  void Promise.allSettled([...lastResorts].map((fn) => fn())).finally(() => process.exit(EXIT.interrupted));
}

/** A terminal that was closed (SIGHUP) fails writes with EIO: nobody is left to read them anyway. */
function writeQuietly(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // the terminal is gone
  }
}
