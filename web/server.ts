/**
 * Serves the status page: builds the app from its dependencies and listens. Importing this module does
 * nothing by itself; the CLI's `cutover web` calls `serveStatusPage`.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createApp, type WebDeps } from './create-app.js';
import { isLoopbackHost } from './loopback.js';

/** Options of `serveStatusPage`. */
export interface StatusPageOptions extends WebDeps {
  /** TCP port; 0 picks a free one (see the returned `url`). */
  port: number;
  /**
   * Interface to listen on. Default 127.0.0.1. Any address other than loopback needs `token`: without one the
   * page would be readable by anyone who can reach it ({@link OpenStatusPageError}).
   */
  host?: string;
  /** A certificate and its key (PEM): the page serves https itself. */
  tls?: StatusPageTls;
  /** A TLS proxy in front of the page serves https to browsers; the page itself listens in plain HTTP. */
  tlsProxy?: boolean;
}

/** The certificate (chain) and private key the page serves https with, PEM text. */
export interface StatusPageTls {
  cert: string | Buffer;
  key: string | Buffer;
}

/** A listening status page. */
export interface StatusPage {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops listening and ends open connections; resolves when the server has closed. Idempotent. */
  close(): Promise<void>;
}

/** Thrown when the status page cannot listen on the address asked for (port taken, no such interface, no permission). */
export class StatusPageListenError extends Error {
  readonly port: number;
  readonly host: string;
  /** The system's error code, such as `EADDRINUSE`. */
  readonly code: string | undefined;

  constructor(port: number, host: string, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'EADDRINUSE'
        ? 'the port is in use by another program; choose another with --port'
        : cause.code === 'EACCES'
          ? 'this user may not listen there; choose a port above 1023 with --port'
          : cause.code === 'EADDRNOTAVAIL' || cause.code === 'ENOTFOUND'
            ? 'this machine has no such address; choose another with --host'
            : cause.message;
    // Lower case, no full stop: the CLI prints it after `cutover: `, like its other messages.
    super(`the status page cannot listen on ${host}:${port}: ${why}`, { cause });
    this.name = 'StatusPageListenError';
    this.port = port;
    this.host = host;
    this.code = cause.code;
  }
}

/** Thrown when asked to listen beyond loopback without a token, where anyone who can reach the address could read the page. */
export class OpenStatusPageError extends Error {
  readonly host: string;

  constructor(host: string) {
    // Lower case, no full stop: the CLI prints it after `cutover: `.
    super(
      `without a token the status page would be readable by anyone who can reach ${host}: set CUTOVER_WEB_TOKEN ` +
        '(a long random one, such as the output of `openssl rand -hex 24`), or listen on 127.0.0.1 behind your own proxy',
    );
    this.name = 'OpenStatusPageError';
    this.host = host;
  }
}

/** Thrown when asked to serve a token in plain HTTP beyond loopback, where anyone on the way could read it. */
export class PlainHttpTokenError extends Error {
  readonly host: string;

  constructor(host: string) {
    // Lower case, no full stop: the CLI prints it after `cutover: `.
    super(
      `in plain HTTP on ${host} the page's token would cross the network readable by anyone on the way: give --tls-cert and ` +
        '--tls-key so the page serves https, or --tls-proxy if a TLS proxy in front of it serves https, or listen on 127.0.0.1',
    );
    this.name = 'PlainHttpTokenError';
    this.host = host;
  }
}

/** Thrown when the certificate and key given for https are not a usable pair (not PEM, or a key of another certificate). */
export class StatusPageTlsError extends Error {
  constructor(cause: Error) {
    super(
      `the status page cannot serve https with --tls-cert and --tls-key: ${cause.message}; give a PEM certificate and its own private key`,
      {
        cause,
      },
    );
    this.name = 'StatusPageTlsError';
  }
}

export { isLoopbackHost };

/**
 * Refuses, before anything listens, to serve a page where other machines could read it without a token, or read the
 * token itself on its way in plain HTTP.
 *
 * @throws OpenStatusPageError when `host` is not loopback and there is no token
 * @throws PlainHttpTokenError when `host` is not loopback and neither `tls` nor `tlsProxy` is given
 */
export function checkExposure(options: { host?: string; token?: string; tls?: StatusPageTls; tlsProxy?: boolean }): void {
  const host = options.host ?? '127.0.0.1';
  if (isLoopbackHost(host)) return;
  if (options.token === undefined) throw new OpenStatusPageError(host);
  if (!options.tls && !options.tlsProxy) throw new PlainHttpTokenError(host);
}

/** How long `close()` lets requests in progress finish before cutting them off. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Starts the status page and resolves once it listens.
 *
 * @throws OpenStatusPageError when `host` is not loopback and there is no `token`
 * @throws PlainHttpTokenError when `host` is not loopback and the page would serve its token in plain HTTP
 * @throws StatusPageListenError when it cannot listen on `host:port`
 */
export async function serveStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  checkExposure(options);
  const host = options.host ?? '127.0.0.1';
  const { port: _port, host: _host, tls, tlsProxy, ...rest } = options;
  // Browsers reach the page over https either way: its token cookie goes nowhere else.
  const deps: WebDeps = { ...rest, ...(tls || tlsProxy ? { secureCookie: true } : {}) };
  const app = createApp(deps);
  const server = tls ? httpsServer(tls, app) : createServer(app);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new StatusPageListenError(options.port, host, error));
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // An IPv6 literal needs brackets in a URL.
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Idempotent: a second close (an error path after a normal shutdown) waits for the first.
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      // The live channels poll Temporal: stop them with the server, or they would keep the process busy.
      app.hub.close();
      return (closing ??= closeServer(server));
    },
  };
}

function httpsServer(tls: StatusPageTls, app: ReturnType<typeof createApp>): Server {
  try {
    return createHttpsServer({ cert: tls.cert, key: tls.key }, app);
  } catch (err) {
    throw new StatusPageTlsError(err as Error);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Browsers keep idle connections open for reuse; they would hold `close` up for minutes.
    server.closeIdleConnections();
    // A request still running after the grace period (a hung store call) must not keep the process alive.
    setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
  });
}

// `cutover web invite|revoke|people` (issue 19) reach the page's people through this entry point.
export { invitePerson } from './people-routes.js';
export { insecureOrigin } from './people-session.js';
