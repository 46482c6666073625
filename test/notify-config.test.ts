import { describe, it, expect } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import { dedent, problemsOf, warningsOf } from './support/runbook-text.js';

/** Lines 1-12: a runbook with one step. */
const HEAD = [
  'name: demo',
  'version: 1',
  'lead: lead',
  'roles:',
  '  lead: [ana]',
  '  dba: [ben]',
  'phases:',
  '  - id: prep',
  '    kind: preparation',
  '    steps:',
  '      - { id: backup, title: Back up, owner: dba, expected: 5m, action: { kind: manual } }',
];

const indented = (text: string): string[] =>
  dedent(`${text}\n`)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `  ${line}`);

/** HEAD, then `people:` on line 12 (`people: {}` when none), then `notifications:` with the block under it. */
function withNotifications(block: string, people = ''): string {
  const peopleLines = people === '' ? ['people: {}'] : ['people:', ...indented(people)];
  return [...HEAD, ...peopleLines, 'notifications:', ...indented(block), ''].join('\n');
}

describe('notifications configuration', () => {
  it('accepts every kind of channel, routes, people addresses and a rehearsal audience', () => {
    const text = withNotifications(
      `
        channels:
          hook: { kind: webhook, url: 'https://hooks.example.com/cutover', secret: '\${env:HOOK_SECRET}' }
          slack: { kind: slack, url: '\${env:SLACK_URL}' }
          teams: { kind: teams, url: 'https://prod.westeurope.logic.azure.com/workflows/1' }
          mail: { kind: email, host: smtp.example.com, from: 'Cutover <cutover@example.com>', user: cutover, password: '\${file:smtp.pw}' }
          pager: { kind: command, command: ./page.sh }
        routes:
          - { on: [gate_opened, gate_deadline], via: [mail, slack] }
          - { to: [lead, sponsor], via: [hook, teams, pager] }
        rehearsal: { audience: [lead], channels: [slack] }
      `,
      `
        ana: { email: ana@example.com, slack: U012AB3CD }
        sponsor: { email: sponsor@example.com }
      `,
    );
    const result = parseRunbook(text, 'runbook.yaml');
    expect(result.ok ? [] : result.problems).toEqual([]);
    if (!result.ok) return;
    expect(result.runbook.notifications?.channels.mail).toMatchObject({ kind: 'email', port: 587, tls: 'starttls' });
    expect(result.runbook.people.ana).toEqual({ email: 'ana@example.com', slack: 'U012AB3CD' });
  });

  it('locates an unknown channel in a route, with the closest name', () => {
    const text = withNotifications(`
      channels:
        slack: { kind: slack, url: 'https://hooks.slack.com/services/T/B/X' }
      routes:
        - { via: [slak] }
    `);
    expect(problemsOf(text)).toEqual(['runbook.yaml:17:15 notifications.routes[0].via[0]: unknown channel `slak`; did you mean `slack`?']);
  });

  it('locates an unknown kind of channel', () => {
    const problems = problemsOf(
      withNotifications(`
        channels:
          pager: { kind: pagerduty, url: 'https://events.pagerduty.com' }
      `),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^runbook\.yaml:15:\d+ notifications\.channels\.pager\.kind: .*webhook.*slack.*teams.*email.*command/);
  });

  it('locates a malformed URL and a secret written in clear', () => {
    const text = withNotifications(`
      channels:
        hook:
          kind: webhook
          url: hooks.example.com/cutover
          secret: hunter2-hunter2
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:17:12 notifications.channels.hook.url: `hooks.example.com/cutover` is not a URL; write it in full, such as https://hooks.example.com/cutover, or as a reference such as ${env:HOOK_URL}',
      'runbook.yaml:18:15 notifications.channels.hook.secret: the signing secret is written into the runbook; write a reference instead, ${env:NAME} or ${file:path}, so the secret stays on the worker',
    ]);
  });

  it('locates a webhook without its secret', () => {
    const problems = problemsOf(
      withNotifications(`
        channels:
          hook: { kind: webhook, url: 'https://hooks.example.com/cutover' }
      `),
    );
    expect(problems).toEqual([expect.stringMatching(/^runbook\.yaml:15:\d+ notifications\.channels\.hook(\.secret)?: .*secret/)]);
  });

  it('locates an unknown role or person in a route and in the rehearsal audience', () => {
    const text = withNotifications(`
      channels:
        slack: { kind: slack, url: 'https://hooks.slack.com/services/T/B/X' }
      routes:
        - { to: [dbb], via: [slack] }
      rehearsal: { audience: [nobody] }
    `);
    expect(problemsOf(text)).toEqual([
      'runbook.yaml:17:14 notifications.routes[0].to[0]: `dbb` is neither a role in `roles` nor a person in `roles` or `people`; did you mean `dba`?',
      'runbook.yaml:18:27 notifications.rehearsal.audience[0]: `nobody` is neither a role in `roles` nor a person in `roles` or `people`; name a role, or a person who holds one or is listed under `people`',
    ]);
  });

  it('warns when an e-mail route names people without an address', () => {
    const text = withNotifications(`
      channels:
        mail: { kind: email, host: smtp.example.com, from: cutover@example.com }
      routes:
        - { to: [dba], via: [mail] }
    `);
    expect(problemsOf(text)).toEqual([]);
    expect(warningsOf(text)).toEqual([
      "runbook.yaml:17:13 notifications.routes[0].to: ben has no `email` under `people`, so this route's e-mail cannot reach them; add their address",
    ]);
  });

  it('takes people listed only for their addresses without a role, and refuses a malformed address', () => {
    const ok = withNotifications(`channels: {}`, `sponsor: { email: sponsor@example.com }`);
    expect(problemsOf(ok)).toEqual([]);
    const bad = withNotifications(`channels: {}`, `sponsor: { email: sponsor-at-example }`);
    expect(problemsOf(bad)).toEqual([
      'runbook.yaml:13:21 people.sponsor.email: invalid `email` value `sponsor-at-example`: expected an e-mail address such as alice@example.com',
    ]);
  });
});

describe('comms steps (`kind: notify`)', () => {
  const comms = (action: string) =>
    [...HEAD.slice(0, 10), `      - { id: tell, title: Tell them, owner: lead, action: ${action} }`].join('\n');

  it('locates an unknown channel and an unknown audience at their lines', () => {
    const text = `${comms("{ kind: notify, message: 'Go-live at {elapsed}', to: [sponsers], via: [mal] }")}
notifications:
  channels:
    mail: { kind: email, host: smtp.example.com, from: 'Cutover <cutover@example.com>' }
`;
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^runbook\.yaml:11:\d+ phases\[0\]\.steps\[0\]\.action\.to\[0\]: .*`sponsers`/),
      'runbook.yaml:11:131 phases[0].steps[0].action.via[0]: unknown channel `mal`; did you mean `mail`?',
    ]);
  });

  it('refuses a comms step in a runbook without channels, saying what to add', () => {
    expect(problemsOf(`${comms("{ kind: notify, message: 'Hello', to: [lead] }")}\n`)).toEqual([
      expect.stringMatching(
        /^runbook\.yaml:11:\d+ phases\[0\]\.steps\[0\]\.action\.kind: step `tell` sends a message, but the runbook has no `notifications:` channels to send it on; add them/,
      ),
    ]);
  });
});
