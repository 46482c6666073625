/**
 * `cutover doctor [RUNBOOK...] [--json]`: checks the whole configuration, one line per check, and says what to do
 * about each problem. It only looks: it starts no Temporal server, creates no database and applies no migration.
 * Checks run in order and each one that can still run does, so one problem does not hide the next.
 */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { payloadCodecs } from '../common/payload-codec.js';
import { CLIENT_CHANNEL_ARGS } from '../common/temporal-channel.js';
import { inspectStore, type StoreInspection } from '../prisma/inspect.js';
import { parseDatabaseUrl, type DatabaseLocation } from '../prisma/database-url.js';
import { findProjectRoot } from '../prisma/paths.js';
import { parseRunbook } from '../runbook/parse.js';
import { poolTaskQueue, runbookPools } from '../runbook/pools.js';
import { liveRunProblems } from '../runbook/validate.js';
import { updateTimeoutMs } from './send-request.js';
import { EXIT, InvalidRunbookError } from './errors.js';
import { loadRunbook } from './load-runbook.js';
import type { Output } from './output.js';
import { SEARCH_ATTRIBUTES } from './start-run.js';
import { inspectSettings, loadTls, type Settings } from './settings.js';
import { livePollers, type Poller } from './task-queues.js';
import { namespaceProblem } from './temporal.js';
import { findRunningDevServer } from './dev-server-files.js';
import { windowChecks } from './doctor-windows.js';
import {
  ledgerVerdicts,
  RETIRED_WORKFLOW_TYPES,
  RUN_WORKFLOW_TYPE,
  WORKFLOW_VERSION_MEMO,
  type OpenExecution,
} from '../workflows/messages.js';

/** `skip`: the check could not run because an earlier one failed (it says which). */
export type CheckStatus = 'ok' | 'warn' | 'FAIL' | 'skip';

/** One line of the doctor's report. */
export interface Check {
  check: string;
  status: CheckStatus;
  /** What it found. */
  detail: string;
  /** What to do, for warn and FAIL. */
  fix?: string;
}

/** How long doctor waits for Temporal to answer one call: a person is waiting for the whole report. */
const CALL_TIMEOUT_MS = 10_000;

/** `cutover doctor`: exit 0 when nothing FAILs, 6 otherwise. */
export async function doctor(files: string[], json: boolean, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const checks = await runChecks(files, env);
  if (json) out.json(checks);
  else for (const check of checks) out.line(formatCheck(check));
  return checks.some((c) => c.status === 'FAIL') ? EXIT.environment : EXIT.ok;
}

/** One line: status, check, what it found and, for a problem, what to do. */
export function formatCheck(check: Check): string {
  return `${check.status.padEnd(4)}  ${check.check.padEnd(17)} ${check.detail}${check.fix ? `; ${check.fix}` : ''}`;
}

/** Every check, in order (see the module comment). */
export async function runChecks(files: string[], env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const checks: Check[] = [];
  const { settings, problems } = inspectSettings(env);
  try {
    updateTimeoutMs(env);
  } catch (err) {
    problems.push({ setting: 'CUTOVER_UPDATE_TIMEOUT', message: (err as Error).message });
  }
  const bad = new Set(problems.map((p) => p.setting));

  // 1. settings
  if (problems.length === 0) checks.push({ check: 'settings', status: 'ok', detail: describeSettings(settings) });
  for (const problem of problems) checks.push({ check: 'settings', status: 'FAIL', ...splitFix(problem.message) });

  // 2–4: TLS, Temporal, namespace, search attributes; the connection stays open for 6 and 7.
  const pools = runbookPoolChecks(files);
  const temporal = await temporalChecks(settings, bad.has('TEMPORAL_ADDRESS'));
  checks.push(...temporal.checks);

  // 5. record store
  const store = await storeCheck(settings, bad.has('CUTOVER_DATABASE_URL'));
  checks.push(store.check);

  // 5b. whether each runbook's steps fit its windows at the forecast's P90 (from the store's runs when it is usable)
  checks.push(...(await windowChecks(files, settings, store.usable)));

  // 6. workers, 7. pools (of the runbooks given, and of the runs in flight that Temporal confirms are running),
  // 8. what the open runs still need of old workflow code (retired types, patches)
  try {
    if (temporal.connection) await addInFlightPools(pools.pools, store.inFlight, temporal.connection, settings.namespace);
    checks.push(...(await workerChecks(settings, temporal.connection, temporal.skipped, pools)));
    checks.push(...(await ledgerChecks(settings, temporal.connection, temporal.skipped)));
  } finally {
    await temporal.connection?.close().catch(() => undefined);
  }
  return checks;
}

function describeSettings(settings: Settings): string {
  const temporal = settings.temporalAddress
    ? `Temporal ${settings.temporalAddress}, namespace ${settings.namespace}` +
      `${settings.tls ? ', TLS' : ''}${settings.apiKey ? ', API key' : ''}`
    : 'embedded Temporal';
  return (
    `CUTOVER_HOME ${settings.home}; record store ${settings.databaseDisplay}; ${temporal}; task queue ${settings.taskQueue}` +
    `${settings.payloadKey ? '; payloads encrypted' : ''}`
  );
}

/** A sentence "problem: what to do" (or "problem; what to do") split at its last such separator. */
function splitFix(sentence: string): { detail: string; fix?: string } {
  const at = Math.max(sentence.lastIndexOf(': '), sentence.lastIndexOf('; '));
  if (at < 0) return { detail: sentence };
  return { detail: sentence.slice(0, at), fix: sentence.slice(at + 2).replace(/\.$/, '') };
}

interface TemporalResult {
  checks: Check[];
  /** Open when Temporal answered and the namespace exists; the caller closes it. */
  connection?: Connection;
  /** Why the checks that need Temporal could not run, when they could not. */
  skipped?: string;
}

async function temporalChecks(settings: Settings, badAddress: boolean): Promise<TemporalResult> {
  const checks: Check[] = [];
  const skip = (why: string): TemporalResult => {
    checks.push({ check: 'namespace', status: 'skip', detail: `not checked: ${why}` });
    checks.push({ check: 'search attributes', status: 'skip', detail: `not checked: ${why}` });
    return { checks, skipped: why };
  };
  if (badAddress) {
    checks.push({ check: 'temporal', status: 'skip', detail: 'not checked: TEMPORAL_ADDRESS is malformed (see settings)' });
    return skip('TEMPORAL_ADDRESS is malformed');
  }

  let address = settings.temporalAddress;
  let tls: ReturnType<typeof loadTls>;
  if (address === undefined) {
    address = await findRunningDevServer(settings.home);
    if (address === undefined) {
      checks.push({
        check: 'temporal',
        status: 'warn',
        detail: `embedded: the Temporal dev server of ${settings.home} is not running`,
        fix: 'it starts with `cutover rehearse` or `cutover worker` (or set TEMPORAL_ADDRESS to a cluster)',
      });
      return skip('the embedded Temporal server is not running');
    }
  } else {
    try {
      tls = loadTls(settings.tls);
      checks.push({ check: 'tls', status: 'ok', detail: describeTls(settings) });
    } catch (err) {
      checks.push({ check: 'tls', status: 'FAIL', ...splitFix((err as Error).message) });
      checks.push({ check: 'temporal', status: 'skip', detail: 'not checked: a TLS file cannot be read (see tls)' });
      return skip('a TLS file cannot be read');
    }
  }

  let connection: Connection;
  let version: string;
  try {
    connection = await Connection.connect({
      address,
      ...(tls !== undefined ? { tls } : {}),
      ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
      channelArgs: CLIENT_CHANNEL_ARGS,
      connectTimeout: CALL_TIMEOUT_MS,
      // No retries: doctor asks once and reports; a retry the SDK scheduled would fire after the close.
      interceptors: [],
    });
    const conn = connection;
    const info = await conn.withDeadline(Date.now() + CALL_TIMEOUT_MS, () => conn.workflowService.getSystemInfo({}));
    version = info.serverVersion ? ` (server ${info.serverVersion})` : '';
  } catch (err) {
    checks.push({
      check: 'temporal',
      status: 'FAIL',
      detail: `cannot reach Temporal at ${address} (${firstLine(err)})`,
      fix: settings.temporalAddress
        ? 'check TEMPORAL_ADDRESS, the TLS settings and TEMPORAL_API_KEY, and that the cluster is up'
        : `the embedded server did not answer: see its log in ${settings.home}`,
    });
    return skip(`Temporal at ${address} cannot be reached`);
  }
  checks.push({
    check: 'temporal',
    status: 'ok',
    detail: settings.temporalAddress
      ? `reachable at ${address}${version}${settings.apiKey ? ', with TEMPORAL_API_KEY' : ''}`
      : `embedded server of ${settings.home} running at ${address}${version}`,
  });

  // 3. namespace
  try {
    await connection.withDeadline(Date.now() + CALL_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace: settings.namespace }),
    );
    checks.push({ check: 'namespace', status: 'ok', detail: `${settings.namespace} exists` });
  } catch (err) {
    checks.push({ check: 'namespace', status: 'FAIL', ...splitFix(namespaceProblem(err, settings.namespace, address)) });
    checks.push({ check: 'search attributes', status: 'skip', detail: 'not checked: no namespace' });
    await connection.close().catch(() => undefined);
    return { checks, skipped: `namespace ${settings.namespace} is not there` };
  }

  // 4. search attributes
  const wanted = [SEARCH_ATTRIBUTES.runbook.name, SEARCH_ATTRIBUTES.mode.name];
  try {
    const { customAttributes } = await connection.withDeadline(Date.now() + CALL_TIMEOUT_MS, () =>
      connection.operatorService.listSearchAttributes({ namespace: settings.namespace }),
    );
    const missing = wanted.filter((name) => customAttributes?.[name] === undefined);
    checks.push(
      missing.length === 0
        ? { check: 'search attributes', status: 'ok', detail: `${wanted.join(' and ')} registered` }
        : {
            check: 'search attributes',
            status: 'warn',
            detail: `${missing.join(' and ')} not registered on namespace ${settings.namespace}: runs still start, but \`temporal workflow list\` cannot filter by runbook or mode`,
            fix:
              `temporal operator search-attribute create --namespace ${settings.namespace} ` +
              missing.map((name) => `--name ${name} --type Keyword`).join(' '),
          },
    );
  } catch (err) {
    checks.push({
      check: 'search attributes',
      status: 'warn',
      detail: `could not list the search attributes of ${settings.namespace} (${firstLine(err)})`,
      fix: `check with \`temporal operator search-attribute list --namespace ${settings.namespace}\``,
    });
  }
  return { checks, connection };
}

function describeTls(settings: Settings): string {
  const tls = settings.tls;
  if (tls === undefined) return 'no TLS (plain connection)';
  if (tls === true) return `TLS with the system's CAs${settings.apiKey ? ' (TEMPORAL_API_KEY implies TLS)' : ''}`;
  return [
    'TLS',
    ...(tls.clientCertPath ? [`client certificate ${tls.clientCertPath}`] : []),
    ...(tls.serverRootCaPath ? [`CA ${tls.serverRootCaPath}`] : []),
    ...(tls.serverName ? [`server name ${tls.serverName}`] : []),
  ].join(', ');
}

/** 5. The record store, read-only (prisma/inspect.ts), and the runs it has not seen end. */
async function storeCheck(
  settings: Settings,
  badUrl: boolean,
): Promise<{ check: Check; inFlight: StoreInspection['inFlight']; usable: boolean }> {
  const check = 'record store';
  if (badUrl)
    return {
      check: { check, status: 'skip', detail: 'not checked: CUTOVER_DATABASE_URL is malformed (see settings)' },
      inFlight: [],
      usable: false,
    };
  const location = parseDatabaseUrl(settings.databaseUrl);
  try {
    const found = await inspectStore(findProjectRoot(), location);
    // Opening a store with pending migrations would apply them: doctor only looks.
    const usable = found.exists && found.pending.length === 0 && found.failed.length === 0 && found.unknown.length === 0;
    return { check: storeVerdict(location, found), inFlight: found.inFlight, usable };
  } catch (err) {
    return { check: { check, status: 'FAIL', ...splitFix((err as Error).message) }, inFlight: [], usable: false };
  }
}

/** What the store's state means for the night. */
function storeVerdict(location: DatabaseLocation, found: StoreInspection): Check {
  const check = 'record store';
  const kind = location.provider === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  if (!found.exists) {
    return {
      check,
      status: 'warn',
      detail: `${kind} ${location.display} does not exist yet`,
      fix:
        location.provider === 'sqlite'
          ? 'the first command that records runs creates it'
          : 'the first command that records runs creates it, if the user in CUTOVER_DATABASE_URL has CREATEDB (else CREATE DATABASE it)',
    };
  }
  if (found.unknown.length > 0) {
    return {
      check,
      status: 'FAIL',
      detail: `${kind} ${location.display} has migration ${found.unknown.join(', ')} applied, which this cutover does not have (a newer cutover migrated it)`,
      fix: 'upgrade cutover on this machine, or point CUTOVER_DATABASE_URL at another database',
    };
  }
  if (found.failed.length > 0) {
    return {
      check,
      status: 'FAIL',
      detail: `${kind} ${location.display}: migration ${found.failed.join(', ')} failed half-way, and Prisma will not go on`,
      fix: 'start afresh on an empty database (move the SQLite file away, or drop and create the PostgreSQL database)',
    };
  }
  const applied = `${found.applied.length} migration${found.applied.length === 1 ? '' : 's'} applied`;
  if (found.pending.length > 0) {
    return {
      check,
      status: 'warn',
      detail: `${kind} ${location.display}: reachable, ${applied}, pending: ${found.pending.join(', ')}`,
      fix: 'the next cutover command that opens the store applies them (stop old workers first if it is an upgrade)',
    };
  }
  return {
    check,
    status: 'ok',
    detail: `${kind} ${location.display}: reachable${location.provider === 'postgresql' ? ', credentials accepted' : ''}, ${applied}, none pending`,
  };
}

/** Loaded runbook files and their pools, or a FAIL for a file that cannot be used. */
function runbookPoolChecks(files: string[]): { pools: Map<string, string[]>; checks: Check[] } {
  const pools = new Map<string, string[]>();
  const checks: Check[] = [];
  for (const file of files) {
    try {
      const { runbook } = loadRunbook(file);
      for (const pool of runbookPools(runbook)) pools.set(pool, [...(pools.get(pool) ?? []), file]);
      // What `cutover run --live` would refuse (a simulated step, someone who answers without a signing key), found
      // before the night rather than on it. A warning: the runbook may be rehearsed only, for now.
      const live = liveRunProblems(runbook);
      checks.push(
        live.length === 0
          ? { check: `runbook ${file}`, status: 'ok', detail: 'ready for a live run (every person who answers has a signing key listed)' }
          : {
              check: `runbook ${file}`,
              status: 'warn',
              detail: `not ready for a live run: ${live[0]!.message}${live.length > 1 ? ` (and ${live.length - 1} more)` : ''}`,
              fix: '`cutover run --live` refuses it until this is fixed; rehearsals are not affected',
            },
      );
    } catch (err) {
      const first = (err as Error).message.split('\n');
      checks.push({
        check: `runbook ${file}`,
        status: 'FAIL',
        detail: `${first[0]}${first.length > 1 ? ` (and ${first.length - 1} more problem${first.length > 2 ? 's' : ''})` : ''}`,
        ...(err instanceof InvalidRunbookError ? { fix: `\`cutover validate ${file}\` lists every problem` } : {}),
      });
    }
  }
  return { pools, checks };
}

/**
 * Adds the pools of runs in flight to `pools`, named "run ID". The store says which runs have not ended; Temporal
 * says which of them still run (a rehearsal abandoned with its embedded server would otherwise fail doctor forever).
 */
async function addInFlightPools(
  pools: Map<string, string[]>,
  inFlight: StoreInspection['inFlight'],
  connection: Connection,
  namespace: string,
): Promise<void> {
  for (const run of inFlight) {
    const parsed = parseRunbook(run.runbookSource, run.runId);
    const runPools = parsed.ok ? runbookPools(parsed.runbook) : [];
    if (runPools.length === 0) continue;
    try {
      // The raw call: the SDK's describe() would decode the memo, which CUTOVER_PAYLOAD_KEY may have encrypted.
      const { workflowExecutionInfo } = await connection.withDeadline(Date.now() + CALL_TIMEOUT_MS, () =>
        connection.workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: run.runId } }),
      );
      if (workflowExecutionInfo?.status !== proto.temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) continue;
    } catch {
      continue; // not in Temporal (any more): nothing waits for its pools
    }
    for (const pool of runPools) pools.set(pool, [...(pools.get(pool) ?? []), `run ${run.runId}`]);
  }
}

/** 6. workers on the run's task queue, 7. workers of each pool the runbooks name. */
async function workerChecks(
  settings: Settings,
  connection: Connection | undefined,
  skipped: string | undefined,
  runbooks: { pools: Map<string, string[]>; checks: Check[] },
): Promise<Check[]> {
  const checks: Check[] = [];
  const cluster = settings.temporalAddress !== undefined;
  const poolNames = [...runbooks.pools.keys()];
  if (!connection) {
    checks.push({ check: 'workers', status: 'skip', detail: `not checked: ${skipped ?? 'no Temporal'}` });
    for (const pool of poolNames)
      checks.push({ check: `pool ${pool}`, status: 'skip', detail: `not checked: ${skipped ?? 'no Temporal'}` });
    checks.push(...runbooks.checks);
    return checks;
  }
  const client = new Client({ connection, namespace: settings.namespace });
  const ask = (queue: string, kind: 'workflow' | 'activity') =>
    connection.withDeadline(Date.now() + CALL_TIMEOUT_MS, () => livePollers(client, settings.namespace, queue, kind));
  const names = (pollers: Poller[]) => [...new Set(pollers.map((p) => p.identity))].join(', ');

  const queue = settings.taskQueue;
  try {
    const [workflow, activity] = await Promise.all([ask(queue, 'workflow'), ask(queue, 'activity')]);
    if (workflow.length > 0 && activity.length > 0) {
      checks.push({
        check: 'workers',
        status: 'ok',
        detail: `task queue ${queue}: workflow tasks polled by ${names(workflow)}; activity tasks by ${names(activity)}`,
      });
    } else {
      const missing =
        workflow.length === 0 && activity.length === 0 ? '' : workflow.length === 0 ? ' for workflow tasks' : ' for activity tasks';
      checks.push(
        cluster
          ? {
              check: 'workers',
              status: 'FAIL',
              detail: `no worker polls task queue ${queue}${missing}: runs started now would wait`,
              fix: `start \`cutover worker\` on a machine${queue === 'cutover' ? '' : ` (with CUTOVER_TASK_QUEUE=${queue})`}`,
            }
          : {
              check: 'workers',
              status: 'warn',
              detail: `no worker polls task queue ${queue}${missing}`,
              fix: '`cutover rehearse` hosts its own worker; `cutover worker` keeps one up for runs in flight',
            },
      );
    }
  } catch (err) {
    checks.push({ check: 'workers', status: 'FAIL', detail: `Temporal did not describe task queue ${queue} (${firstLine(err)})` });
  }

  for (const pool of poolNames) {
    const poolQueue = poolTaskQueue(queue, pool);
    const from = runbooks.pools.get(pool)!.join(', ');
    if (!cluster) {
      // Runs on the embedded server are one machine: their pinned steps run wherever the run is hosted.
      checks.push({ check: `pool ${pool}`, status: 'ok', detail: `named by ${from}; on the embedded default every pool is this machine` });
      continue;
    }
    try {
      const pollers = await ask(poolQueue, 'activity');
      checks.push(
        pollers.length > 0
          ? { check: `pool ${pool}`, status: 'ok', detail: `task queue ${poolQueue} (${from}) served by ${names(pollers)}` }
          : {
              check: `pool ${pool}`,
              status: 'FAIL',
              detail: `no worker serves pool ${pool} (task queue ${poolQueue}, named by ${from}): its steps would wait`,
              fix: `run \`cutover worker --pool ${pool}\` on that machine`,
            },
      );
    } catch (err) {
      checks.push({
        check: `pool ${pool}`,
        status: 'FAIL',
        detail: `Temporal did not describe task queue ${poolQueue} (${firstLine(err)})`,
      });
    }
  }
  checks.push(...runbooks.checks);
  return checks;
}

/**
 * 8. The open runs of this deployment (namespace and task queue) against the patch ledger (workflows/patches.ts): runs
 * of a retired workflow type, and runs started on code older than a live patch, each named. They need that old code
 * on the workers until they close: a warning for whoever maintains cutover, nothing to do for the night.
 */
async function ledgerChecks(settings: Settings, connection: Connection | undefined, skipped: string | undefined): Promise<Check[]> {
  if (!connection) {
    return ['retired types', 'patches'].map((check) => ({
      check,
      status: 'skip' as const,
      detail: `not checked: ${skipped ?? 'no Temporal'}`,
    }));
  }
  const where = ` on task queue ${settings.taskQueue}`;
  try {
    const open = await openExecutions(connection, settings);
    return ledgerVerdicts(open, { where }).map((v) => ({ check: v.subject, status: v.status, detail: v.detail }));
  } catch (err) {
    return [{ check: 'patches', status: 'warn', detail: `could not list the open runs${where} (${firstLine(err)})` }];
  }
}

/** The open executions of cutover's workflow types on the deployment's task queue, with the version in their memo. */
async function openExecutions(connection: Connection, settings: Settings): Promise<OpenExecution[]> {
  const types = [RUN_WORKFLOW_TYPE, ...RETIRED_WORKFLOW_TYPES].map((type) => `'${type}'`).join(', ');
  const query = `ExecutionStatus = 'Running' AND TaskQueue = '${settings.taskQueue}' AND WorkflowType IN (${types})`;
  // The raw call, and the memo decoded here: an entry this doctor cannot decrypt is reported, not fatal.
  const codecs = payloadCodecs(settings.payloadKey);
  const open: OpenExecution[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.withDeadline(Date.now() + CALL_TIMEOUT_MS, () =>
      connection.workflowService.listWorkflowExecutions({ namespace: settings.namespace, query, pageSize: 1000, nextPageToken }),
    );
    for (const execution of page.executions ?? []) {
      let version: number | undefined;
      let unreadable = false;
      const stamped = execution.memo?.fields?.[WORKFLOW_VERSION_MEMO];
      if (stamped) {
        try {
          let payload = stamped;
          for (const codec of [...codecs].reverse()) payload = (await codec.decode([payload]))[0] ?? payload;
          const value = defaultPayloadConverter.fromPayload(payload);
          if (typeof value === 'number') version = value;
        } catch {
          unreadable = true;
        }
      }
      open.push({
        workflowId: execution.execution?.workflowId ?? '?',
        type: execution.type?.name ?? '?',
        ...(version !== undefined ? { version } : {}),
        ...(unreadable ? { unreadable } : {}),
      });
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return open;
}

function firstLine(err: unknown): string {
  return (err as Error).message.split('\n')[0] ?? String(err);
}
