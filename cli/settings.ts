/**
 * Where cutover keeps its data and which Temporal it talks to, read from the environment
 * once, in one place. Nothing else reads `process.env` for these.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { redact } from '../lib/redact.js';
import { databaseLocation } from '../prisma/database-url.js';
import { parsePayloadKey } from '../common/payload-codec.js';
import { EnvironmentError } from './errors.js';

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
  /** `CUTOVER_PAYLOAD_KEY`: when set, every Temporal payload is encrypted with it (see common/payload-codec.ts). */
  payloadKey?: Buffer;
  /** `CUTOVER_WEB_TOKEN`: when set, the status page answers only requests that carry it (a secret: never print it). */
  webToken?: string;
}

/** A setting that is wrong, and the sentence that names it and the fix. */
export interface SettingProblem {
  /** The environment variable (or pair of them) at fault, e.g. `TEMPORAL_ADDRESS`. */
  setting: string;
  message: string;
}

/**
 * Reads the settings from `env` (the process environment by default).
 * @throws EnvironmentError naming the first setting that is wrong and how to fix it (exit 6)
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), uses: { webToken?: boolean } = {}): Settings {
  const { settings, problems } = inspectSettings(env, cwd);
  // A malformed CUTOVER_DATABASE_URL waits until the store is opened (cli/store.ts says the same sentence,
  // exit 6): commands that need no store, such as `approve` on a cluster, still work. A bad CUTOVER_WEB_TOKEN
  // stops only `cutover web` (`uses.webToken`): a worker has no use for it.
  const first = problems.find((p) => p.setting !== 'CUTOVER_DATABASE_URL' && (p.setting !== 'CUTOVER_WEB_TOKEN' || uses.webToken === true));
  if (first) throw new EnvironmentError(first.message);
  return settings;
}

/**
 * Reads the settings and lists every problem instead of stopping at the first one (for `cutover doctor`). Each
 * wrong setting falls back to what it would be unset, so the other checks can still run.
 */
export function inspectSettings(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { settings: Settings; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const home = path.resolve(cwd, env.CUTOVER_HOME || '.cutover');
  // The store's own rule (prisma/database-url.ts).
  let databaseUrl: string;
  let databaseDisplay: string;
  try {
    const location = databaseLocation(env, cwd);
    databaseUrl = location.url;
    databaseDisplay = location.display;
  } catch (err) {
    databaseUrl = env.CUTOVER_DATABASE_URL?.trim() ?? '';
    databaseDisplay = redact(databaseUrl);
    problems.push({ setting: 'CUTOVER_DATABASE_URL', message: (err as Error).message });
  }
  let address = env.TEMPORAL_ADDRESS?.trim() || undefined;
  if (address !== undefined && !isTemporalAddress(address)) {
    problems.push({
      setting: 'TEMPORAL_ADDRESS',
      message: `TEMPORAL_ADDRESS \`${address}\` is not host:port (such as temporal.example.com:7233, without http://): fix it, or unset it to use the embedded server`,
    });
    address = undefined;
  }
  const tlsFiles: TemporalTls = {
    ...(env.TEMPORAL_TLS_CERT ? { clientCertPath: env.TEMPORAL_TLS_CERT } : {}),
    ...(env.TEMPORAL_TLS_KEY ? { clientKeyPath: env.TEMPORAL_TLS_KEY } : {}),
    ...(env.TEMPORAL_TLS_CA ? { serverRootCaPath: env.TEMPORAL_TLS_CA } : {}),
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverName: env.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  if (Boolean(tlsFiles.clientCertPath) !== Boolean(tlsFiles.clientKeyPath)) {
    problems.push({
      setting: tlsFiles.clientCertPath ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT',
      message: `TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set ${tlsFiles.clientCertPath ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'} too for mTLS, or neither`,
    });
  }
  const tlsFlag = env.TEMPORAL_TLS?.trim().toLowerCase();
  if (tlsFlag && tlsFlag !== 'true' && tlsFlag !== 'false') {
    problems.push({ setting: 'TEMPORAL_TLS', message: `TEMPORAL_TLS is \`${env.TEMPORAL_TLS}\`: set it to true (or false), or unset it` });
  }
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = Object.keys(tlsFiles).length > 0 || apiKey !== undefined || tlsFlag === 'true';
  if (!env.TEMPORAL_ADDRESS?.trim() && (wantsTls || env.TEMPORAL_NAMESPACE)) {
    const given = [
      ...(env.TEMPORAL_NAMESPACE ? ['TEMPORAL_NAMESPACE'] : []),
      ...Object.keys(env).filter((k) => /^TEMPORAL_(TLS|API_KEY)/.test(k) && env[k]),
    ];
    problems.push({
      setting: 'TEMPORAL_ADDRESS',
      message: `${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} TEMPORAL_ADDRESS: set it to your cluster (host:port), or unset ${given.length === 1 ? 'it' : 'them'} to use the embedded server`,
    });
  }
  let payloadKey: Buffer | undefined;
  if (env.CUTOVER_PAYLOAD_KEY !== undefined && env.CUTOVER_PAYLOAD_KEY !== '') {
    try {
      payloadKey = parsePayloadKey(env.CUTOVER_PAYLOAD_KEY);
    } catch (err) {
      problems.push({ setting: 'CUTOVER_PAYLOAD_KEY', message: (err as Error).message });
    }
  }
  // Letters, digits and -._~ only: the token travels in a link (`?token=`), a cookie and a Bearer header, and
  // these characters mean the same in all three (a base64 `+` would arrive as a space from a link).
  const webToken = env.CUTOVER_WEB_TOKEN || undefined;
  if (webToken !== undefined && !/^[A-Za-z0-9._~-]{16,}$/.test(webToken)) {
    problems.push({
      setting: 'CUTOVER_WEB_TOKEN',
      message:
        webToken.length < 16
          ? 'CUTOVER_WEB_TOKEN is shorter than 16 characters, too easy to guess: set it to a long random one, such as the output of `openssl rand -hex 24`, or unset it'
          : 'CUTOVER_WEB_TOKEN may hold only letters, digits and - . _ ~ (it travels in a link): set it to a long random one, such as the output of `openssl rand -hex 24`, or unset it',
    });
  }
  const settings: Settings = {
    home,
    databaseUrl,
    databaseDisplay,
    taskQueue: env.CUTOVER_TASK_QUEUE || 'cutover',
    ...(env.CUTOVER_WORKER_NAME?.trim() ? { workerName: env.CUTOVER_WORKER_NAME.trim() } : {}),
    namespace: (address && env.TEMPORAL_NAMESPACE) || 'default',
    ...(address ? { temporalAddress: address } : {}),
    ...(address && wantsTls ? { tls: Object.keys(tlsFiles).length > 0 ? tlsFiles : true } : {}),
    ...(address && apiKey ? { apiKey } : {}),
    ...(payloadKey ? { payloadKey } : {}),
    ...(webToken !== undefined && !problems.some((p) => p.setting === 'CUTOVER_WEB_TOKEN') ? { webToken } : {}),
  };
  return { settings, problems };
}

/**
 * What the Temporal SDK takes as an address: `host` or `host:port`, the host a name, an IPv4 address or a bracketed
 * IPv6 one. Checked here so a typo is one sentence at once, not a ten-second connection timeout.
 */
function isTemporalAddress(address: string): boolean {
  // Underscores are not valid in DNS names, but Docker and Compose service names have them, and they resolve.
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_][A-Za-z0-9_.-]*)(?::(\d{1,5}))?$/.exec(address);
  if (!match) return false;
  const port = match[2];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/**
 * The SDK's TLS options from file paths.
 * @throws EnvironmentError naming the setting whose file cannot be read (exit 6)
 */
export function loadTls(tls: TemporalTls | true | undefined) {
  if (tls === undefined) return undefined;
  if (tls === true) return true as const;
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new EnvironmentError(`cannot read the ${what} file ${file} (${code}): point ${what} at a readable PEM file, or unset it`);
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
