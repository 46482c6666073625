/**
 * Where cutover keeps its data and which Temporal it talks to, read from the environment
 * once, in one place. Nothing else reads `process.env` for these.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { databaseLocation, redact } from '../prisma/database-url.js';
import { parsePayloadKey } from '../worker/payload-codec.js';
import { EnvironmentError, UsageError } from './errors.js';

/** TLS for a Temporal cluster: mTLS client certificate and/or a custom CA, or an API key. */
export interface TemporalTls {
  clientCertPath?: string;
  clientKeyPath?: string;
  serverRootCaPath?: string;
  serverName?: string;
}

export interface Settings {
  /** Data folder: embedded Temporal's database and logs, the record store. */
  home: string;
  /** Record store URL: `file:<absolute path>` (SQLite), or `postgres(ql)://…` (holds the password: never print it). */
  databaseUrl: string;
  /** The record store as messages name it: the SQLite path, or the PostgreSQL URL with its password as `***`. */
  databaseDisplay: string;
  taskQueue: string;
  /** `CUTOVER_WORKER_NAME`: how this machine's workers are named in Temporal and in each step's record (default pid@host). */
  workerName?: string;
  /** Set when the user points cutover at a cluster; unset means the embedded default. */
  temporalAddress?: string;
  namespace: string;
  tls?: TemporalTls | true;
  apiKey?: string;
  /** `CUTOVER_PAYLOAD_KEY`: when set, every Temporal payload is encrypted with it (see worker/payload-codec.ts). */
  payloadKey?: Buffer;
}

/** Reads the settings from `env` (the process environment by default). */
export function readSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  const home = path.resolve(cwd, env.CUTOVER_HOME || '.cutover');
  // The store's own rule (prisma/database-url.ts). A malformed URL is kept as given: opening the store
  // refuses it with a sentence naming CUTOVER_DATABASE_URL (exit 6), and commands that need no store work.
  let databaseUrl: string;
  let databaseDisplay: string;
  try {
    const location = databaseLocation(env, cwd);
    databaseUrl = location.url;
    databaseDisplay = location.display;
  } catch {
    databaseUrl = env.CUTOVER_DATABASE_URL?.trim() ?? '';
    databaseDisplay = redact(databaseUrl);
  }
  const address = env.TEMPORAL_ADDRESS?.trim() || undefined;
  const tlsFiles: TemporalTls = {
    ...(env.TEMPORAL_TLS_CERT ? { clientCertPath: env.TEMPORAL_TLS_CERT } : {}),
    ...(env.TEMPORAL_TLS_KEY ? { clientKeyPath: env.TEMPORAL_TLS_KEY } : {}),
    ...(env.TEMPORAL_TLS_CA ? { serverRootCaPath: env.TEMPORAL_TLS_CA } : {}),
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverName: env.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  if (Boolean(tlsFiles.clientCertPath) !== Boolean(tlsFiles.clientKeyPath)) {
    throw new UsageError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mTLS, or neither');
  }
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = Object.keys(tlsFiles).length > 0 || apiKey !== undefined || env.TEMPORAL_TLS === 'true';
  if (!address && (wantsTls || env.TEMPORAL_NAMESPACE)) {
    throw new UsageError('TEMPORAL_NAMESPACE, TLS and API-key settings need TEMPORAL_ADDRESS: set it to your cluster (host:port)');
  }
  let payloadKey: Buffer | undefined;
  if (env.CUTOVER_PAYLOAD_KEY !== undefined && env.CUTOVER_PAYLOAD_KEY !== '') {
    try {
      payloadKey = parsePayloadKey(env.CUTOVER_PAYLOAD_KEY);
    } catch (err) {
      throw new EnvironmentError((err as Error).message);
    }
  }
  return {
    home,
    databaseUrl,
    databaseDisplay,
    taskQueue: env.CUTOVER_TASK_QUEUE || 'cutover',
    ...(env.CUTOVER_WORKER_NAME?.trim() ? { workerName: env.CUTOVER_WORKER_NAME.trim() } : {}),
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    ...(address ? { temporalAddress: address } : {}),
    ...(wantsTls ? { tls: Object.keys(tlsFiles).length > 0 ? tlsFiles : true } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(payloadKey ? { payloadKey } : {}),
  };
}

/** The SDK's TLS options from file paths, with a clear error for a missing file. */
export function loadTls(tls: TemporalTls | true | undefined) {
  if (tls === undefined) return undefined;
  if (tls === true) return true as const;
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch {
      throw new UsageError(`cannot read the ${what} file ${file} (from the environment); check the path`);
    }
  };
  const crt = read(tls.clientCertPath, 'TEMPORAL_TLS_CERT');
  const key = read(tls.clientKeyPath, 'TEMPORAL_TLS_KEY');
  const ca = read(tls.serverRootCaPath, 'TEMPORAL_TLS_CA');
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
  };
}
