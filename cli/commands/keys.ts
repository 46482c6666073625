/** `cutover keys init|show`: a person's signing key. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function register(program: Command, { action, out }: CommandContext): void {
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
    .action(action(async (options: { passphraseEnv?: string; force?: boolean }) => (await import('../keys.js')).keysInit(options, out)));
  keys
    .command('show')
    .description("print your public key, to list under the runbook's `people`")
    .option('--json', 'print it as JSON')
    .action(action(async (options: { json?: boolean }) => (await import('../keys.js')).keysShow(options.json === true, out)));
}
