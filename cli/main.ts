/**
 * The `cutover` command. Parses arguments, runs one command, maps its error to an exit code
 * (see errors.ts and the README). bin/cutover.js calls {@link main}; for the decision commands it
 * loads this module from a pre-compiled bundle (see scripts/build-cli-bundle.mjs).
 */
import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { CutoverError, EXIT, exitCodeFor, UsageError } from './errors.js';
import { processOutput as out } from './output.js';
import { cutoverVersion } from './project-root.js';
import { parseWindow, type WindowOption } from './window-option.js';

/**
 * A command's function, loaded from its module when the command runs. A decision sent from a terminal on the night
 * must not pay for loading the worker, the record store, express and the reconciliation engine it never uses
 * (together about a quarter of a second of every `cutover approve`).
 */
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => number | Promise<number>>): (...args: A) => Promise<number> {
  return async (...args) => (await load())(...args);
}
const decisionCommands = () => import('./decision-commands.js');
const approve = lazy(async () => (await decisionCommands()).approve);
const reject = lazy(async () => (await decisionCommands()).reject);
const markDone = lazy(async () => (await decisionCommands()).markDone);
const backout = lazy(async () => (await decisionCommands()).backout);
const resolve = lazy(async () => (await decisionCommands()).resolve);
const reviewCommands = () => import('./review-commands.js');
const list = lazy(async () => (await reviewCommands()).list);
const schema = lazy(async () => (await reviewCommands()).schema);
const status = lazy(async () => (await reviewCommands()).status);
const validate = lazy(async () => (await reviewCommands()).validate);
const runCommands = () => import('./run-commands.js');
const runWorker = lazy(async () => (await runCommands()).runWorker);
const startAndFollow = lazy(async () => (await runCommands()).startAndFollow);
const keysModule = () => import('./keys.js');
const keysInit = lazy(async () => (await keysModule()).keysInit);
const keysShow = lazy(async () => (await keysModule()).keysShow);
const doctor = lazy(async () => (await import('./doctor.js')).doctor);
const reconcileCommand = lazy(async () => (await import('./reconcile-command.js')).reconcileCommand);
const reconcileReport = lazy(async () => (await import('./reconcile-report-command.js')).reconcileReport);
const decisions = lazy(async () => (await import('./decisions-command.js')).decisions);
const showGate = lazy(async () => (await import('./gate-command.js')).showGate);
const serveWeb = lazy(async () => (await import('./web-command.js')).serveWeb);
const attach = lazy(async () => (await import('./attach-command.js')).attach);
const reportCommand = lazy(async () => (await import('./report-command.js')).reportCommand);
const timingCommands = () => import('./timing-commands.js');
const history = lazy(async () => (await timingCommands()).history);
const compare = lazy(async () => (await timingCommands()).compare);
const forecastCommand = lazy(async () => (await timingCommands()).forecastCommand);

const EXIT_CODES_HELP = `
Exit codes:
  0  success (the run completed)       4  the run backed out
  2  usage error, unknown run or step  5  the run failed
  3  the runbook is invalid             6  Temporal, database or tool unavailable
  7  the run refused the request (not allowed, gate closed, already voted); run --live without rehearsal evidence
  8  no answer from the run in time (CUTOVER_UPDATE_TIMEOUT); check \`cutover status\`
  9  decisions --verify: the decision log does not hold
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
  CUTOVER_KEYS_DIR       where your signing key is (default ~/.config/cutover)
  CUTOVER_KEY_PASSPHRASE passphrase of an encrypted signing key`;

/**
 * Whether to open the console: a terminal on both sides, not `--plain`, not CI. The check lives with the
 * console, loaded only when a command may draw one.
 */
async function wantsConsole(plain: boolean): Promise<boolean> {
  if (plain || !process.stdout.isTTY || !process.stdin.isTTY) return false;
  return (await import('./console/open-console.js')).wantsConsole(plain);
}

/** `--as` falls back to CUTOVER_AS so an approver can set it once per terminal. */
function person(options: { as?: string }): string {
  const who = options.as ?? process.env.CUTOVER_AS;
  if (!who) throw new UsageError('say who you are with --as PERSON (or set CUTOVER_AS)');
  return who;
}

function needReason(options: { reason?: string }, what: string): string {
  if (!options.reason?.trim()) throw new UsageError(`${what} needs --reason "..." (it goes into the decision log)`);
  return options.reason;
}

/** Parses a whole number of at least 1 for `flag`, or says what it wants. */
function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} wants a whole number from 1 up, not "${value}"`);
    return n;
  };
}

/** Builds the command tree; each action returns its exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('cutover')
    .description('Rehearse and run cutover runbooks as durable Temporal workflows.')
    .version(cutoverVersion(), '-V, --version')
    .showSuggestionAfterError()
    .addHelpText('after', `${EXIT_CODES_HELP}\n${ENVIRONMENT_HELP}`)
    .exitOverride();
  const run =
    (fn: (...args: never[]) => Promise<number> | number) =>
    async (...args: unknown[]) => {
      setExit(await (fn as (...a: unknown[]) => Promise<number> | number)(...args));
    };
  const asOption = () => new Option('--as <person>', 'who you are (a person named in the runbook roles)');

  program
    .command('validate')
    .description('check a runbook file and list every problem with file:line:column')
    .argument('<file>', 'runbook YAML file')
    .option('--json', 'print problems as JSON')
    .action(run((file: string, options: { json?: boolean }) => validate(file, options.json === true, out)));

  program
    .command('rehearse')
    .description("rehearse a runbook: each step's `rehearsal:` setting says run, simulate or skip")
    .argument('<file>', 'runbook YAML file')
    .option('--auto-approve', "approve gates and complete manual steps as the runbook's first eligible person (recorded as automatic)")
    .addOption(asOption().default(undefined, '$CUTOVER_AS or your login name'))
    .option('--plain', 'print one line per change instead of opening the console (the default without a terminal, or in CI)')
    .action(
      run(async (file: string, options: { autoApprove?: boolean; as?: string; plain?: boolean }) =>
        startAndFollow({
          file,
          mode: 'rehearsal',
          autoApprove: options.autoApprove === true,
          startedBy: options.as ?? process.env.CUTOVER_AS ?? userInfo().username,
          out,
          console: await wantsConsole(options.plain === true),
        }),
      ),
    );

  program
    .command('run')
    .description('run a runbook for real: every step runs (needs --live --confirm)')
    .argument('<file>', 'runbook YAML file')
    .option('--live', 'this is the real cutover, not a rehearsal')
    .option('--confirm', 'yes, really')
    .option(
      '--override-evidence <reason>',
      'lead only: go live without a recent completed rehearsal of this version or a rehearsed back-out (recorded as a decision)',
    )
    .addOption(asOption())
    .option('--plain', 'print one line per change instead of opening the console (the default without a terminal, or in CI)')
    .action(
      run(async (file: string, options: { live?: boolean; confirm?: boolean; as?: string; plain?: boolean; overrideEvidence?: string }) => {
        if (!options.live || !options.confirm) {
          throw new UsageError('a live run needs both --live and --confirm; to practise, use `cutover rehearse`');
        }
        return startAndFollow({
          file,
          mode: 'live',
          autoApprove: false,
          startedBy: options.as ?? process.env.CUTOVER_AS ?? userInfo().username,
          ...(options.overrideEvidence !== undefined ? { overrideEvidence: options.overrideEvidence } : {}),
          out,
          console: await wantsConsole(options.plain === true),
        });
      }),
    );

  program
    .command('attach')
    .description('open the console on a run in flight (any terminal, any number at once); q leaves, the run goes on')
    .argument('<run>', 'run id, e.g. crm-go-live-3')
    .addOption(asOption().default(undefined, '$CUTOVER_AS'))
    .option('--plain', 'print one line per change until the run ends (the default without a terminal, or in CI)')
    .action(
      run(async (runId: string, options: { as?: string; plain?: boolean }) =>
        attach(
          runId,
          {
            console: await wantsConsole(options.plain === true),
            ...((options.as ?? process.env.CUTOVER_AS) ? { as: (options.as ?? process.env.CUTOVER_AS)! } : {}),
          },
          out,
        ),
      ),
    );

  program
    .command('approve')
    .description('vote go on an open gate')
    .argument('<run>', 'run id, e.g. crm-go-live-3')
    .argument('<gate>', 'gate step id')
    .addOption(asOption())
    .option('--role <role>', 'the approver role you vote for, when you hold several')
    .option('--reason <text>', 'why (recorded)')
    .option('--evidence <digest>', 'the evidence you decided on, as `cutover gate` showed it (default: what the gate shows now)')
    .action(
      run((runId: string, gate: string, options: { as?: string; role?: string; reason?: string; evidence?: string }) =>
        approve(
          runId,
          gate,
          {
            as: person(options),
            ...(options.role ? { role: options.role } : {}),
            ...(options.reason ? { reason: options.reason } : {}),
            ...(options.evidence ? { evidence: options.evidence } : {}),
          },
          out,
        ),
      ),
    );

  program
    .command('reject')
    .description('vote no-go on an open gate: the run backs out')
    .argument('<run>', 'run id')
    .argument('<gate>', 'gate step id')
    .addOption(asOption())
    .option('--reason <text>', 'why (required, recorded)')
    .option('--evidence <digest>', 'the evidence you decided on, as `cutover gate` showed it (default: what the gate shows now)')
    .action(
      run((runId: string, gate: string, options: { as?: string; reason?: string; evidence?: string }) =>
        reject(
          runId,
          gate,
          { as: person(options), reason: needReason(options, 'a rejection'), ...(options.evidence ? { evidence: options.evidence } : {}) },
          out,
        ),
      ),
    );

  program
    .command('gate')
    .description('show a gate: its question, who it needs, its deadline, and the evidence (with its digest) it is decided on')
    .argument('<run>', 'run id')
    .argument('<gate>', 'gate step id')
    .option('--json', 'print it as JSON')
    .action(run((runId: string, gate: string, options: { json?: boolean }) => showGate(runId, gate, options.json === true, out)));

  program
    .command('done')
    .description('mark a manual step (or a manual back-out) done, as its owner')
    .argument('<run>', 'run id')
    .argument('<step>', 'step id')
    .addOption(asOption())
    .option('--reason <text>', 'a note for the record')
    .action(
      run((runId: string, step: string, options: { as?: string; reason?: string }) =>
        markDone(runId, step, { as: person(options), ...(options.reason ? { reason: options.reason } : {}) }, out),
      ),
    );

  program
    .command('backout')
    .description('back the run out (lead only): running steps finish, completed ones are undone in reverse order')
    .argument('<run>', 'run id')
    .addOption(asOption())
    .option('--reason <text>', 'why (required, recorded)')
    .action(
      run((runId: string, options: { as?: string; reason?: string }) =>
        backout(runId, { as: person(options), reason: needReason(options, 'a back-out') }, out),
      ),
    );

  program
    .command('resolve')
    .description('decide about a failed step or back-out (lead only): retry it, or record it done by hand')
    .argument('<run>', 'run id')
    .argument('<step>', 'step id')
    .option('--retry', 'run it again')
    .option('--done', 'it was done by hand; carry on')
    .addOption(asOption())
    .option('--reason <text>', 'why (required, recorded)')
    .action(
      run((runId: string, step: string, options: { retry?: boolean; done?: boolean; as?: string; reason?: string }) => {
        if (Boolean(options.retry) === Boolean(options.done)) throw new UsageError('say either --retry or --done');
        return resolve(
          runId,
          step,
          options.retry ? 'retry' : 'done',
          { as: person(options), reason: needReason(options, 'resolving a failure') },
          out,
        );
      }),
    );

  program
    .command('status')
    .description('show a run: every step with owner, status, planned and actual time; decisions; back-out')
    .argument('<run>', 'run id')
    .option('--json', 'print the whole run state as JSON')
    .action(run((runId: string, options: { json?: boolean }) => status(runId, options.json === true, out)));

  program
    .command('list')
    .description('list recorded runs, newest first')
    .option('--runbook <name>', 'only runs of this runbook')
    .option('--limit <n>', 'at most this many', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit wants a positive whole number, not ${v}`);
      return n;
    })
    .option('--json', 'print as JSON')
    .action(
      run((options: { runbook?: string; limit?: number; json?: boolean }) =>
        list(
          {
            ...(options.runbook ? { runbook: options.runbook } : {}),
            ...(options.limit ? { limit: options.limit } : {}),
            json: options.json === true,
          },
          out,
        ),
      ),
    );

  program
    .command('history')
    .description('every run of a runbook, newest first: mode, version, start, duration, outcome, back-out, who led it')
    .argument('<runbook>', 'runbook name (as in `cutover list`) or runbook file')
    .option('--json', 'print as JSON')
    .action(run((runbook: string, options: { json?: boolean }) => history(runbook, options.json === true, out)));

  program
    .command('compare')
    .description('two runs side by side: per phase and step planned, A, B and the difference; added and removed steps; critical path')
    .argument('<run-a>', 'run id, usually the earlier one')
    .argument('<run-b>', 'run id')
    .option('--json', 'print as JSON')
    .action(run((a: string, b: string, options: { json?: boolean }) => compare(a, b, options.json === true, out)));

  program
    .command('forecast')
    .description(
      'will the cutover fit its window? P50/P90 from past runs (Monte Carlo over the step graph), the chance to finish inside the window, the likely critical path, the risky steps, the latest safe go/no-go',
    )
    .argument('<runbook>', 'runbook file (forecast that version) or runbook name (the version last run)')
    .option('--window <window>', "the window: 6h, or START/END or START/LENGTH in ISO 8601 (default: the runbook's window)", parseWindow)
    .option('--seed <n>', 'seed of the simulation (default 1: the same data gives the same forecast)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 4294967295)
        throw new UsageError(`--seed wants a whole number from 0 to 4294967295, not "${v}"`);
      return n;
    })
    .option('--simulations <n>', 'simulated nights, 100 to 100000 (default 10000)', (v) => {
      const n = Number(v);
      // Each night keeps a duration per step for the risk figures: 100,000 nights of 1,000 steps is 500 MB.
      if (!Number.isInteger(n) || n < 100 || n > 100_000)
        throw new UsageError(`--simulations wants a whole number from 100 to 100000, not "${v}"`);
      return n;
    })
    .option('--json', 'print as JSON')
    .action(
      run((runbook: string, options: { window?: WindowOption; seed?: number; simulations?: number; json?: boolean }) =>
        forecastCommand(
          runbook,
          {
            ...(options.window ? { window: options.window } : {}),
            ...(options.seed !== undefined ? { seed: options.seed } : {}),
            ...(options.simulations !== undefined ? { simulations: options.simulations } : {}),
            json: options.json === true,
          },
          out,
        ),
      ),
    );

  program
    .command('report')
    .description(
      'what a lead sends after a rehearsal: summary, timeline chart, decisions, failures, reconciliation, back-out, against the previous rehearsal, forecast',
    )
    .argument('<run>', 'run id, e.g. crm-go-live-3')
    .option(
      '--format <format>',
      'md (Markdown) or html (one self-contained file that prints well)',
      (v) => {
        if (v !== 'md' && v !== 'html') throw new UsageError(`--format wants md or html, not "${v}"`);
        return v;
      },
      'md',
    )
    .option('--out <file>', 'write to this file (whole or not at all) instead of stdout')
    .action(run((runId: string, options: { format: 'md' | 'html'; out?: string }) => reportCommand(runId, options, out)));

  program
    .command('worker')
    .description('host runs on this machine (with TEMPORAL_ADDRESS: a worker for that cluster; without: the embedded server too)')
    .option(
      '--pool <name>',
      'serve the steps pinned to this pool (`runs_on: NAME`) on this machine, instead of hosting runs; repeat for several pools',
      (value: string, pools: string[]) => {
        if (!/^[a-z0-9][a-z0-9_-]*$/.test(value))
          throw new UsageError(
            `--pool wants a pool name as runbooks write it in runs_on (lower-case letters, digits, - and _), not "${value}"`,
          );
        return pools.includes(value) ? pools : [...pools, value];
      },
      [] as string[],
    )
    .option('--serve-runs', 'with --pool: host runs and unpinned steps too (the default without --pool)')
    .action(
      run((options: { pool: string[]; serveRuns?: boolean }) =>
        runWorker({ pools: options.pool, serveRuns: options.serveRuns === true }, out),
      ),
    );

  program
    .command('web')
    .description('serve the read-only status page: runs, steps, decisions (Ctrl-C stops it)')
    .option(
      '--port <n>',
      'TCP port (0 picks a free one)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port wants a port number from 0 to 65535, not ${v}`);
        return n;
      },
      8080,
    )
    .option('--host <address>', 'address to listen on; 0.0.0.0 for other machines (needs CUTOVER_WEB_TOKEN)', '127.0.0.1')
    .action(run((options: { port: number; host: string }) => serveWeb({ port: options.port, host: options.host }, out)));

  program
    .command('doctor')
    .description('check the configuration: settings, Temporal, namespace, search attributes, record store, workers and pools')
    .argument('[runbook...]', 'runbook files whose worker pools to check')
    .option('--json', 'print the checks as JSON')
    .action(run((files: string[], options: { json?: boolean }) => doctor(files, options.json === true, out)));

  program
    .command('reconcile')
    .description('compare a source and a target (SQLite, PostgreSQL, CSV) as a config file says; exit 0 within its limits, 4 outside')
    .argument('<config>', 'reconciliation config YAML file')
    .option('--json', 'print the result as JSON (counts at the top level)')
    .action(run((file: string, options: { json?: boolean }) => reconcileCommand(file, options.json === true, out)));

  program
    .command('decisions')
    .description("a run's decision log: who decided what, in which role, why, signed or not; --verify checks it offline")
    .argument('<run>', 'run id, e.g. crm-go-live-4')
    .option('--json', 'print it as JSON')
    .option('--verify', 'check the hash chain and every signature against the runbook keys; exit 9 if the log does not hold')
    .action(
      run((runId: string, options: { json?: boolean; verify?: boolean }) =>
        decisions(runId, { json: options.json === true, verify: options.verify === true }, out),
      ),
    );

  const keys = program
    .command('keys')
    .description('your signing key: every approval, done, back-out and resolution you send is signed with it');
  keys
    .command('init')
    .description('make your Ed25519 signing key (private, mode 0600) and print the public key for the runbook')
    .option(
      '--passphrase-env <var>',
      'encrypt the key with the passphrase in this environment variable (then set CUTOVER_KEY_PASSPHRASE to sign)',
    )
    .option('--force', 'replace an existing key')
    .action(run((options: { passphraseEnv?: string; force?: boolean }) => keysInit(options, out)));
  keys
    .command('show')
    .description("print your public key, to list under the runbook's `people`")
    .option('--json', 'print it as JSON')
    .action(run((options: { json?: boolean }) => keysShow(options.json === true, out)));

  program
    .command('reconcile-report')
    .description("a step's recorded reconciliation: the differing rows with both sides' values, as CSV or JSON")
    .argument('<run>', 'run id, e.g. sample-crm-4')
    .argument('<step>', 'id of a step with a reconcile action or check')
    .option('--check <name>', 'only this reconcile check (default: the action and every check)')
    .option('--attempt <n>', 'this attempt of the step (default: the latest)', positiveInteger('--attempt'))
    .option('--round <n>', 'this round of a repeating check (default: CSV the latest, JSON every round)', positiveInteger('--round'))
    .option(
      '--format <format>',
      'csv or json',
      (v) => {
        if (v !== 'csv' && v !== 'json') throw new UsageError(`--format wants csv or json, not "${v}"`);
        return v;
      },
      'csv',
    )
    .option('--out <file>', 'write to this file (whole or not at all) instead of stdout')
    .action(
      run(
        (
          runId: string,
          stepId: string,
          options: { check?: string; attempt?: number; round?: number; format: 'csv' | 'json'; out?: string },
        ) => reconcileReport(runId, stepId, options, out),
      ),
    );

  program
    .command('schema')
    .description('print the JSON Schema of the runbook format (for editors)')
    .action(run(() => schema(out)));

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
