/**
 * `cutover web [--port 8080] [--host 127.0.0.1] [--tls-cert FILE --tls-key FILE | --tls-proxy] [--origin URL]`: serve the
 * status page until Ctrl-C; `cutover web invite|revoke|people`: who may sign in to it with a passkey.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
  const web = program
    .command('web')
    .description('serve the status page: runs, steps, decisions; people signed in with a passkey act on it (Ctrl-C stops it)')
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
    .option(
      '--origin <url>',
      'where browsers open the page (passkeys are bound to it); default CUTOVER_WEB_ORIGIN, else from --host and --port',
    )
    .action(
      action(async (options: { port: number; host: string; tlsCert?: string; tlsKey?: string; tlsProxy?: boolean; origin?: string }) =>
        (await import('../serve-page.js')).servePage(options, out),
      ),
    );
  web
    .command('invite')
    .description('print a one-time enrolment link (24 hours) for a person to make their passkey for the page')
    .argument('<person>', 'the person, as the runbook names them')
    .option('--json', 'print it as JSON')
    .addHelpText(
      'after',
      "\n`--origin URL` (of `cutover web`; default CUTOVER_WEB_ORIGIN, else http://localhost:8080) is the link's address.",
    )
    .action(
      // `--origin` is the page's option: commander gives it to `web` wherever it is written.
      action(async (person: string, options: { json?: boolean }, command: Command) =>
        (await import('../web-people.js')).webInvite(
          person,
          { ...options, origin: command.parent?.opts<{ origin?: string }>().origin },
          out,
        ),
      ),
    );
  web
    .command('revoke')
    .description("end a person's sign-in to the page and their sessions")
    .argument('<person>', 'the person')
    .action(action(async (person: string) => (await import('../web-people.js')).webRevoke(person, out)));
  web
    .command('people')
    .description('who enrolled a passkey on the page, the line for the runbook, and when they last signed in')
    .option('--json', 'print it as JSON')
    .action(action(async (options: { json?: boolean }) => (await import('../web-people.js')).webPeople(options, out)));
}
