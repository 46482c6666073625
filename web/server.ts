/**
 * Serves the status page: builds the app from its dependencies and listens. Importing this module does
 * nothing by itself; the CLI's `cutover web` calls `serveStatusPage`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type WebDeps } from './create-app.js';

/** Options of `serveStatusPage`. */
export interface StatusPageOptions extends WebDeps {
  /** TCP port; 0 picks a free one (see the returned `url`). */
  port: number;
  /**
   * Interface to listen on. Default 127.0.0.1: the page has no access control yet, so reaching it from
   * other machines is a choice (`0.0.0.0`), not a default.
   */
  host?: string;
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

/** How long `close()` lets requests in progress finish before cutting them off. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Starts the status page and resolves once it listens.
 *
 * @throws StatusPageListenError when it cannot listen on `host:port`
 */
export async function serveStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  const host = options.host ?? '127.0.0.1';
  const deps: WebDeps = { store: options.store, ...(options.liveState ? { liveState: options.liveState } : {}) };
  const server = createServer(createApp(deps));
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
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Idempotent: a second close (an error path after a normal shutdown) waits for the first.
  let closing: Promise<void> | undefined;
  return { url, close: () => (closing ??= closeServer(server)) };
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
