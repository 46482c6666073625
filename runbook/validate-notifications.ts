/**
 * The rules of a runbook's `notifications:` block that need the whole runbook: channels that exist, roles and people
 * that exist, URLs that are URLs, secrets written as references, people an e-mail route cannot reach. Each problem
 * has a path, so `cutover validate` points at its line. Pure.
 */
import type { ProblemPath } from '../lib/yaml-document/problems.js';
import { hint, type Checking } from './checking.js';
import type { NotificationChannel } from './notifications.js';
import { findReferences } from './secret-refs.js';

/** Every rule of the `notifications:` block; nothing when the runbook has none. */
export function checkNotifications(c: Checking): void {
  checkCommsSteps(c);
  const notifications = c.runbook.notifications;
  if (!notifications) return;
  const channelNames = Object.keys(notifications.channels);
  for (const [name, channel] of Object.entries(notifications.channels)) checkChannel(c, ['notifications', 'channels', name], channel);

  const checkVia = (names: readonly string[], path: ProblemPath) =>
    names.forEach((name, k) => {
      if (!notifications.channels[name]) {
        c.errors.push({
          path: [...path, k],
          message: `unknown channel \`${name}\`` + hint(name, channelNames, '; name one under `notifications.channels`', c.budget),
        });
      }
    });
  notifications.routes.forEach((route, i) => {
    const path: ProblemPath = ['notifications', 'routes', i];
    checkVia(route.via, [...path, 'via']);
    if (route.to) checkAudience(c, route.to, [...path, 'to']);
    if (route.to && route.via.some((name) => notifications.channels[name]?.kind === 'email')) {
      warnUnreachable(c, route.to, [...path, 'to']);
    }
  });
  if (notifications.rehearsal?.audience) checkAudience(c, notifications.rehearsal.audience, ['notifications', 'rehearsal', 'audience']);
  if (notifications.rehearsal?.channels) checkVia(notifications.rehearsal.channels, ['notifications', 'rehearsal', 'channels']);
  if (notifications.public_url !== undefined) {
    const problem = urlProblem(notifications.public_url);
    if (problem) c.errors.push({ path: ['notifications', 'public_url'], message: problem });
  }
}

/** Comms steps (`kind: notify`, as an action or an undo): an audience that exists, channels that exist. */
function checkCommsSteps(c: Checking): void {
  const notifications = c.runbook.notifications;
  c.runbook.phases.forEach((phase, i) =>
    phase.steps.forEach((step, j) => {
      for (const field of ['action', 'backout'] as const) {
        const action = step[field];
        if (action?.kind !== 'notify') continue;
        const path: ProblemPath = ['phases', i, 'steps', j, field];
        if (!notifications) {
          c.errors.push({
            path: [...path, 'kind'],
            message: `step \`${step.id}\` sends a message, but the runbook has no \`notifications:\` channels to send it on; add them (docs/notifications.md)`,
          });
          continue;
        }
        checkAudience(c, action.to, [...path, 'to']);
        const names = Object.keys(notifications.channels);
        action.via?.forEach((name, k) => {
          if (!notifications.channels[name])
            c.errors.push({
              path: [...path, 'via', k],
              message: `unknown channel \`${name}\`` + hint(name, names, '; name one under `notifications.channels`', c.budget),
            });
        });
      }
    }),
  );
}

/** The people a list of roles and people names (people named by role are expanded). */
export function audiencePeople(runbook: Checking['runbook'], names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of names) {
    const members = runbook.roles[name];
    if (members) for (const person of members) out.add(person);
    else out.add(name);
  }
  return [...out];
}

function knownPeople(c: Checking): Set<string> {
  return new Set([...Object.values(c.runbook.roles).flat(), ...Object.keys(c.runbook.people)]);
}

function checkAudience(c: Checking, names: readonly string[], path: ProblemPath): void {
  const people = knownPeople(c);
  names.forEach((name, k) => {
    if (c.definedRoles.has(name) || people.has(name)) return;
    c.errors.push({
      path: [...path, k],
      message:
        `\`${name}\` is neither a role in \`roles\` nor a person in \`roles\` or \`people\`` +
        hint(name, [...c.roleNames, ...people], '; name a role, or a person who holds one or is listed under `people`', c.budget),
    });
  });
}

function warnUnreachable(c: Checking, names: readonly string[], path: ProblemPath): void {
  const missing = audiencePeople(c.runbook, names).filter((person) => !c.runbook.people[person]?.email);
  if (missing.length === 0) return;
  c.warnings.push({
    path,
    message: `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no \`email\` under \`people\`, so this route's e-mail cannot reach ${missing.length === 1 ? 'them' : 'those people'}; add their address`,
  });
}

/** A sentence when `text` (without references) is not an http(s) URL. */
function urlProblem(text: string): string | undefined {
  if (findReferences(text).references.length > 0) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return `\`${text}\` is not a URL; write it in full, such as https://hooks.example.com/cutover, or as a reference such as \${env:HOOK_URL}`;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `\`${text}\` is not an http(s) URL; webhooks take https://…`;
  return undefined;
}

/** A field that is one whole reference: the only way a runbook may hold a secret. */
const WHOLE_REFERENCE = /^\$\{(env|file):[^}]+\}$/;

function checkChannel(c: Checking, path: ProblemPath, channel: NotificationChannel): void {
  const refs = (text: string, field: ProblemPath) => {
    for (const problem of findReferences(text).problems) c.errors.push({ path: [...path, ...field], message: problem });
  };
  const secret = (text: string | undefined, field: string, what: string) => {
    if (text === undefined) return;
    refs(text, [field]);
    if (!WHOLE_REFERENCE.test(text.trim())) {
      c.errors.push({
        path: [...path, field],
        message: `${what} is written into the runbook; write a reference instead, \${env:NAME} or \${file:path}, so the secret stays on the worker`,
      });
    }
  };
  switch (channel.kind) {
    case 'webhook':
    case 'slack':
    case 'teams': {
      refs(channel.url, ['url']);
      const problem = urlProblem(channel.url);
      if (problem) c.errors.push({ path: [...path, 'url'], message: problem });
      if (channel.kind === 'webhook') {
        secret(channel.secret, 'secret', 'the signing secret');
        for (const [key, value] of Object.entries(channel.headers ?? {})) refs(value, ['headers', key]);
      }
      break;
    }
    case 'email':
      refs(channel.host, ['host']);
      if (channel.user !== undefined) refs(channel.user, ['user']);
      secret(channel.password, 'password', 'the SMTP password');
      if (channel.password !== undefined && channel.user === undefined) {
        c.errors.push({ path: [...path, 'password'], target: 'key', message: 'a `password` needs a `user`; add the SMTP user' });
      }
      break;
    case 'command':
      for (const [key, value] of Object.entries(channel.env ?? {})) refs(value, ['env', key]);
      break;
  }
}
