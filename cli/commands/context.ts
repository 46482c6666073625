/**
 * What every command module shares: how an action reports its exit code, where it writes, and the options and
 * argument parsers several commands take. Cheap to load: no command's work is imported here (each command loads
 * its own module when it runs, so `cutover approve` never pays for Prisma, the worker or express).
 */
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { processOutput, type Output } from '../output.js';

/** What a command module gets from the program that registers it. */
export interface CommandContext {
  /** Wraps a command's function as commander's action: its resolved number becomes the process's exit code. */
  action: <A extends unknown[]>(fn: (...args: A) => Promise<number> | number) => (...args: A) => Promise<void>;
  out: Output;
}

/** Builds the {@link CommandContext} of one program; `setExit` receives each action's exit code. */
export function commandContext(setExit: (code: number) => void): CommandContext {
  return {
    action:
      (fn) =>
      async (...args) => {
        setExit(await fn(...args));
      },
    out: processOutput,
  };
}

/** `--as PERSON`: who you are (a person named in the runbook roles). */
export function asOption(): Option {
  return new Option('--as <person>', 'who you are (a person named in the runbook roles)');
}

/** `--as` falls back to CUTOVER_AS so an approver can set it once per terminal. */
export function person(options: { as?: string }): string {
  const who = options.as ?? process.env.CUTOVER_AS;
  if (!who) throw new UsageError('say who you are with --as PERSON (or set CUTOVER_AS)');
  return who;
}

/** The `--reason` a request must carry, or a usage error that says what it is for. */
export function needReason(options: { reason?: string }, what: string): string {
  if (!options.reason?.trim()) throw new UsageError(`${what} needs --reason "..." (it goes into the decision log)`);
  return options.reason;
}

/** Parses a whole number of at least 1 for `flag`, or says what it wants. */
export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} wants a whole number from 1 up, not "${value}"`);
    return n;
  };
}

/** Parses one of `choices` for `flag`, or says which it wants. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new UsageError(`${flag} wants ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}, not "${value}"`);
    }
    return value as T;
  };
}

/**
 * Whether to open the console: a terminal on both sides, not `--plain`, not CI. The check lives with the console,
 * loaded only when a command may draw one.
 */
export async function wantsConsole(plain: boolean): Promise<boolean> {
  if (plain || !process.stdout.isTTY || !process.stdin.isTTY) return false;
  return (await import('../console/open-console.js')).wantsConsole(plain);
}
