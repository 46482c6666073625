/**
 * The `cutover` command: the program, its commands (one module each in `commands/`, registered in the order `--help`
 * lists them), and the one place an error becomes an exit code (see errors.ts and docs/exit-codes.md).
 * bin/cutover.js calls {@link main}; for the request commands (approve, reject, done, backout, resolve) it loads this
 * module from a pre-compiled bundle (scripts/setup.mjs, `bundleRequestCommands`).
 */
import { Command, CommanderError } from 'commander';
import * as approve from './commands/approve.js';
import * as attach from './commands/attach.js';
import * as backout from './commands/backout.js';
import * as codecServer from './commands/codec-server.js';
import * as compare from './commands/compare.js';
import { commandContext } from './commands/context.js';
import * as decisions from './commands/decisions.js';
import * as doctor from './commands/doctor.js';
import * as events from './commands/events.js';
import * as exportPlan from './commands/export.js';
import * as done from './commands/done.js';
import * as ack from './commands/ack.js';
import * as forecast from './commands/forecast.js';
import * as gate from './commands/gate.js';
import * as history from './commands/history.js';
import * as incident from './commands/incident.js';
import * as importPlan from './commands/import.js';
import * as init from './commands/init.js';
import * as keys from './commands/keys.js';
import * as plan from './commands/plan.js';
import * as list from './commands/list.js';
import * as notify from './commands/notify.js';
import * as reconcileReport from './commands/reconcile-report.js';
import * as reconcile from './commands/reconcile.js';
import * as rehearse from './commands/rehearse.js';
import * as reject from './commands/reject.js';
import * as report from './commands/report.js';
import * as resolve from './commands/resolve.js';
import * as run from './commands/run.js';
import * as schema from './commands/schema.js';
import * as status from './commands/status.js';
import * as validate from './commands/validate.js';
import * as web from './commands/web.js';
import * as worker from './commands/worker.js';
import { OwnSecretFileError, takeOwnSecrets } from '../common/own-secrets.js';
import { CutoverError, EnvironmentError, EXIT, exitCodeFor } from './errors.js';
import { cutoverVersion } from './project-root.js';

/** The commands, in the order `cutover --help` lists them. */
const COMMANDS = [
  init,
  validate,
  rehearse,
  run,
  attach,
  approve,
  reject,
  gate,
  done,
  ack,
  backout,
  resolve,
  incident,
  status,
  events,
  list,
  history,
  compare,
  forecast,
  report,
  worker,
  web,
  codecServer,
  doctor,
  notify,
  reconcile,
  decisions,
  keys,
  reconcileReport,
  importPlan,
  exportPlan,
  plan,
  schema,
];

const EXIT_CODES_HELP = `
Exit codes:
  0  success (the run completed)       4  the run backed out
  2  usage error, unknown run or step  5  the run failed
  3  the runbook is invalid             6  Temporal, database or tool unavailable
  7  the run refused the request (not allowed, gate closed, already voted); run --live without rehearsal evidence
  8  no answer from the run in time (CUTOVER_UPDATE_TIMEOUT); check \`cutover status\`
  9  decisions --verify: the decision log does not hold
  10 notify test: a channel did not take its test message
  1  a bug in cutover (with a stack trace)  130  interrupted (Ctrl-C, SIGTERM, SIGHUP)`;

const ENVIRONMENT_HELP = `
Environment:
  CUTOVER_HOME           data folder (default .cutover): embedded Temporal, record store
  CUTOVER_DATABASE_URL   record store: file:PATH (SQLite, default file:$CUTOVER_HOME/cutover.db) or postgresql://…
  CUTOVER_AS             default for --as
  CUTOVER_UPDATE_TIMEOUT seconds approve, reject, done, backout, resolve wait for the run's answer (default 30)
  TEMPORAL_ADDRESS       use this Temporal cluster instead of the embedded dev server
  TEMPORAL_NAMESPACE     namespace on that cluster (default "default")
  TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS=true
  TEMPORAL_API_KEY       Temporal Cloud API key (implies TLS)
  CUTOVER_TASK_QUEUE     task queue of the workers (default "cutover"); pool NAME uses "<queue>@NAME"
  CUTOVER_WORKER_NAME    this machine's worker name in Temporal and in each step's record (default pid@host)
  TEMPORAL_CLI_PATH      the temporal binary for the embedded server
  CUTOVER_WEB_TOKEN      token the status page requires (16+ of A-Z a-z 0-9 - . _ ~; openssl rand -hex 24)
  CUTOVER_CODEC_TOKEN    token codec-server requires (same form)
  CUTOVER_KEYS_DIR       where your signing key is (default ~/.config/cutover)
  CUTOVER_KEY_PASSPHRASE passphrase of an encrypted signing key`;

/** Builds the command tree; each action returns its exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('cutover')
    .description('Rehearse and run cutover runbooks as durable Temporal workflows.')
    .version(cutoverVersion(), '-V, --version')
    .showSuggestionAfterError()
    .addHelpText('after', `${EXIT_CODES_HELP}\n${ENVIRONMENT_HELP}`)
    .exitOverride();
  const context = commandContext(setExit);
  for (const command of COMMANDS) command.register(program, context);
  return program;
}

/** Runs the CLI with `argv`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    // First: cutover's own secrets from their `_FILE`s, and out of /proc/PID/environ (see common/own-secrets.ts).
    try {
      takeOwnSecrets();
    } catch (err) {
      if (err instanceof OwnSecretFileError) throw new EnvironmentError(err.message);
      throw err;
    }
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse error is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CutoverError) {
      process.stderr.write(`cutover: ${err.message}\n`);
      return err.exitCode;
    }
    const codeFor = exitCodeFor(err);
    if (codeFor !== EXIT.internal) {
      process.stderr.write(`cutover: ${(err as Error).message}\n`);
      return codeFor;
    }
    process.stderr.write(`cutover: unexpected error (a bug; please report it):\n${(err as Error).stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}

// `cutover status RUN | head`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  // A closed terminal (SIGHUP): nobody reads any more, but the command still stops in good order.
  if (err.code === 'EIO') return;
  throw err;
});
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || err.code === 'EIO') return;
  throw err;
});
