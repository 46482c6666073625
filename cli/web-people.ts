/**
 * `cutover web invite|revoke|people` (issue 19): who may sign in to the page with a passkey. `invite` prints a
 * one-time enrolment link (24 hours, used once) for the person to open on their phone or laptop; `revoke` ends their
 * sign-in and sessions; `people` lists who enrolled, their passkey line for the runbook, and when they last signed in.
 */
import { openRecordStore } from '../prisma/store.js';
import { invitePerson } from '../web/server.js';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';
import { readSettings } from './settings.js';

/** The origin browsers reach the page at: `--origin`, else `CUTOVER_WEB_ORIGIN`, else http://localhost:8080. */
export function pageOrigin(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const text = given ?? env.CUTOVER_WEB_ORIGIN ?? 'http://localhost:8080';
  const from = given !== undefined ? '--origin' : env.CUTOVER_WEB_ORIGIN !== undefined ? 'CUTOVER_WEB_ORIGIN' : 'the default';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `${from} ${JSON.stringify(text)} is not a URL; give the page's address as browsers open it, such as https://cutover.example.com`,
    );
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash)
    throw new UsageError(`${from} ${text} is not an origin; give only the scheme, host and port, such as https://cutover.example.com:8443`);
  return url.origin;
}

/** A person's name as the runbook's `people` and `roles` write it. */
function checkPerson(person: string): string {
  if (!/^\S{1,200}$/.test(person))
    throw new UsageError(`${JSON.stringify(person)} is not a person's name as the runbook lists it (one word, up to 200 characters)`);
  return person;
}

/** `cutover web invite PERSON [--origin URL] [--json]` */
export async function webInvite(person: string, options: { origin?: string; json?: boolean }, out: Output): Promise<number> {
  const origin = pageOrigin(options.origin);
  const store = await openRecordStore(readSettings());
  try {
    const { link, expiresAt } = await invitePerson({ people: store.webPeople, origin }, checkPerson(person));
    if (options.json) out.json({ person, link, expiresAt });
    else {
      out.line(`enrolment link for ${person} (once, until ${expiresAt}): ${link}`);
      out.line(`send it to ${person} alone; opening it makes their passkey and shows the line for the runbook's \`people\``);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** `cutover web revoke PERSON` */
export async function webRevoke(person: string, out: Output): Promise<number> {
  const store = await openRecordStore(readSettings());
  try {
    if (!(await store.webPeople.revoke(checkPerson(person), new Date().toISOString())))
      throw new UsageError(`${person} never enrolled on the page; \`cutover web people\` lists who did`);
    out.line(
      `${person} can no longer sign in to the page; their sessions ended. Remove their passkey from the runbook's \`people\` too, or their signed requests still count.`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** `cutover web people [--json]` */
export async function webPeople(options: { json?: boolean }, out: Output): Promise<number> {
  const store = await openRecordStore(readSettings());
  try {
    const people = await store.webPeople.people();
    if (options.json) {
      out.json(people.map(({ publicKey: _key, counter: _counter, ...person }) => person));
      return EXIT.ok;
    }
    if (people.length === 0) out.line('nobody has enrolled on the page yet; `cutover web invite PERSON` makes a link');
    for (const p of people) {
      const state = p.revokedAt ? `revoked ${p.revokedAt}` : `last signed in ${p.lastSignInAt ?? 'never'}`;
      out.line(`${p.name}: enrolled ${p.enrolledAt}, ${state}`);
      out.line(`  ${p.name}: { passkey: "${p.passkey}" }`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
