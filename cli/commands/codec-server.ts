/** `cutover codec-server [--port 8089] [--host 127.0.0.1] [--ui-origin URL] [--tls-cert F --tls-key F | --tls-proxy]`. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  program
    .command('codec-server')
    .description("decrypt payloads for the stock temporal CLI and web UI (Temporal's codec-server protocol; Ctrl-C stops it)")
    .option(
      '--port <n>',
      'TCP port (0 picks a free one)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port wants a port number from 0 to 65535, not ${v}`);
        return n;
      },
      8089,
    )
    .option('--host <address>', 'address to listen on; beyond loopback needs https (--tls-cert/--tls-key or --tls-proxy)', '127.0.0.1')
    .option('--ui-origin <url>', 'origin of a Temporal web UI allowed to call it from the browser (CORS)')
    .option('--tls-cert <file>', 'serve https with this certificate (PEM; with --tls-key)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--tls-proxy', 'a TLS proxy in front of it serves https')
    .action(
      action(async (options: { port: number; host: string; uiOrigin?: string; tlsCert?: string; tlsKey?: string; tlsProxy?: boolean }) =>
        (await import('../codec-server.js')).serveCodec(options, out),
      ),
    );
}
