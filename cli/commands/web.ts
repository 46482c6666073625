/** `cutover web [--port 8080] [--host 127.0.0.1] [--tls-cert FILE --tls-key FILE | --tls-proxy]`: serve the status page until Ctrl-C. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
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
    .option(
      '--host <address>',
      'address to listen on; 0.0.0.0 for other machines (needs CUTOVER_WEB_TOKEN, and https: --tls-cert/--tls-key or --tls-proxy)',
      '127.0.0.1',
    )
    .option('--tls-cert <file>', 'serve https with this certificate (PEM; with --tls-key)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--tls-proxy', 'a TLS proxy in front of the page serves https to browsers (the page itself listens in plain HTTP)')
    .action(
      action(async (options: { port: number; host: string; tlsCert?: string; tlsKey?: string; tlsProxy?: boolean }) =>
        (await import('../serve-page.js')).servePage(options, out),
      ),
    );
}
