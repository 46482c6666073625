/**
 * `cutover notify test RUNBOOK`: one test message on every channel of the runbook's `notifications:`, sent from
 * this machine (its environment resolves the channels' `${env:...}` references), one attempt each, and a line per
 * channel saying whether it was delivered and, if not, why.
 */
import { createHash, randomUUID } from 'node:crypto';
import { idempotencyKey, type PlannedDelivery } from '../notify/plan.js';
import type { NotificationEvent } from '../notify/event.js';
import { deliveryInputs } from '../notify/deliveries.js';
import { DeliveryError, sendNotification } from '../notify/send.js';
import type { Runbook } from '../runbook/schema.js';
import { EXIT, UsageError } from './errors.js';
import { loadRunbook } from './load-runbook.js';
import type { Output } from './output.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Who a test message is for: the rehearsal audience, else the lead. */
function testPeople(runbook: Runbook): string[] {
  const names = runbook.notifications?.rehearsal?.audience ?? [runbook.lead];
  return [...new Set(names.flatMap((name) => runbook.roles[name] ?? [name]))];
}

/** One delivery per channel: e-mail to the first of the test people with an address. */
function testDeliveries(runbook: Runbook): Array<PlannedDelivery | { channel: string; problem: string }> {
  const people = testPeople(runbook);
  return Object.entries(runbook.notifications?.channels ?? {}).map(([channel, config]) => {
    if (config.kind !== 'email') return { channel, recipient: `#${channel}`, people };
    const person = people.find((p) => runbook.people[p]?.email);
    if (!person) return { channel, problem: `none of ${people.join(', ')} has an \`email\` under \`people\` to send the test to` };
    return { channel, recipient: person, people: [person] };
  });
}

/** Sends the test messages and prints one line per channel; the exit code is 0 when every channel took its message. */
export async function testNotifications(file: string, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const loaded = loadRunbook(file);
  const { runbook } = loaded;
  const channels = Object.keys(runbook.notifications?.channels ?? {});
  if (channels.length === 0) {
    throw new UsageError(`${file} has no \`notifications.channels\`; add one (docs/notifications.md shows each kind)`);
  }
  const event: NotificationEvent = {
    id: `test:${randomUUID()}`,
    kind: 'test',
    runId: `${runbook.name}-test`,
    runbook: runbook.name,
    mode: 'live',
    at: new Date().toISOString(),
    summary: `Test message from \`cutover notify test\` for runbook ${runbook.name}: this channel reaches you.`,
    facts: [],
  };
  const planned = testDeliveries(runbook);
  const width = Math.max(...channels.map((c) => c.length));
  const results = await Promise.all(
    planned.map(async (entry) => {
      const kind = runbook.notifications!.channels[entry.channel]!.kind;
      if ('problem' in entry) return { channel: entry.channel, kind, ok: false, note: entry.problem };
      const [input] = deliveryInputs(runbook, event, {
        baseDir: loaded.baseDir,
        maxAttempts: 1,
        deliveries: [entry],
        ...(env.CUTOVER_PUBLIC_URL ? { publicUrl: env.CUTOVER_PUBLIC_URL } : {}),
      });
      try {
        const note = await sendNotification(
          { ...input!, people: entry.people, idempotencyKey: idempotencyKey(event, entry, sha256), channelName: entry.channel },
          { env },
        );
        return { channel: entry.channel, kind, ok: true, note };
      } catch (err) {
        const note = err instanceof DeliveryError ? err.message : `unexpected failure: ${(err as Error).message}`;
        return { channel: entry.channel, kind, ok: false, note };
      }
    }),
  );
  for (const r of results) out.line(`${r.ok ? 'delivered' : 'FAILED   '}  ${r.channel.padEnd(width)}  (${r.kind}) ${r.note}`);
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) {
    out.warn(`cutover: ${failed} of ${results.length} channels did not take the test message; fix what each line says and run this again`);
    return EXIT.notifyFailed;
  }
  return EXIT.ok;
}
