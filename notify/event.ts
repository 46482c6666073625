/**
 * A notification event: one moment someone must act on or know about, as plain JSON (the workflow will hand it to
 * the delivery activity), and the words every channel says about it. Pure: no Node built-ins.
 */
import type { NotificationEventKind } from '../runbook/notifications.js';

/** One moment in a run that people must act on or know about. */
export interface NotificationEvent {
  /** Unique in its run and the same every time the moment is told (a replayed workflow tells it again). */
  id: string;
  kind: NotificationEventKind;
  runId: string;
  runbook: string;
  mode: 'rehearsal' | 'live';
  /** When it happened, ISO 8601. */
  at: string;
  /** What happened, one sentence: "Gate `go-live` opened: go live with the new CRM?". */
  summary: string;
  step?: { id: string; title: string };
  /** Who must act and what they do; absent when the event is news only. */
  action?: {
    /** People named directly, and roles whose holders may act. */
    people: string[];
    roles: string[];
    /** What they do, as an instruction: "approve or reject the gate". */
    what: string;
  };
  /** By when, ISO 8601 (a gate's deadline, a step's planned start). */
  by?: string;
  /** Further facts shown as label: value (elapsed, P90 finish, window end…). */
  facts: Array<{ label: string; value: string }>;
}

/** What every channel says about one event: the same words in each format. */
export interface MessageText {
  /** `[REHEARSAL] sample-cutover-3: Gate go-live opened` */
  title: string;
  summary: string;
  /** "ana, ben (approvers) must approve or reject the gate" or undefined. */
  whoMustAct?: string;
  /** "by 2026-12-07 03:00 UTC" or undefined. */
  byWhen?: string;
  /** The run's page on the status page, when a public address is known. */
  link?: string;
  /** The command that acts on it (or shows the run). */
  command: string;
  facts: Array<{ label: string; value: string }>;
  rehearsal: boolean;
}

const VERB: Partial<Record<NotificationEventKind, (run: string, step: string) => string>> = {
  gate_opened: (run, step) => `cutover approve ${run} ${step} --as YOU   (or: cutover reject ${run} ${step} --as YOU --reason ...)`,
  gate_deadline: (run, step) => `cutover approve ${run} ${step} --as YOU   (or: cutover reject ${run} ${step} --as YOU --reason ...)`,
  manual_step_waiting: (run, step) => `cutover done ${run} ${step} --as YOU`,
  escalated: (run, step) => `cutover ack ${run} ${step} --as YOU`,
  point_of_no_return: (run, step) => `cutover approve ${run} ${step} --as YOU   (or: cutover reject ${run} ${step} --as YOU --reason ...)`,
  step_failed: (run, step) => `cutover resolve ${run} ${step} --retry|--done --as YOU --reason ...`,
  backout_halted: (run, step) => `cutover resolve ${run} ${step} --retry|--done --as YOU --reason ...`,
};

/** `2026-12-07 03:00 UTC`: a time every reader of a shared channel reads alike. */
export function formatUtc(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The run's page under `publicUrl` (the status page's address as people reach it). */
export function runPageUrl(publicUrl: string | undefined, runId: string): string | undefined {
  if (!publicUrl) return undefined;
  return `${publicUrl.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}`;
}

/** The words for `event`: title, who must act by when, the link and the command. */
export function messageText(event: NotificationEvent, publicUrl?: string): MessageText {
  const rehearsal = event.mode === 'rehearsal';
  const verb = event.step ? VERB[event.kind] : undefined;
  // "ben, cho (approvers)" when the people are known, else the roles: "approvers".
  const roles = event.action?.roles.join(', ') ?? '';
  const people = event.action?.people.join(', ') ?? '';
  const who = people && roles ? `${people} (${roles})` : people || roles;
  return {
    title: `${rehearsal ? '[REHEARSAL] ' : ''}${event.runId}: ${event.summary}`,
    summary: event.summary,
    ...(event.action ? { whoMustAct: `${who || 'someone'} must ${event.action.what}` } : {}),
    ...(event.by ? { byWhen: `by ${formatUtc(event.by)}` } : {}),
    ...(runPageUrl(publicUrl, event.runId) ? { link: runPageUrl(publicUrl, event.runId)! } : {}),
    command:
      event.kind === 'test'
        ? 'cutover notify test RUNBOOK'
        : verb && event.step
          ? verb(event.runId, event.step.id)
          : `cutover status ${event.runId}`,
    facts: event.facts,
    rehearsal,
  };
}

/** The lines of a plain-text message (e-mail text part, command channel, logs). */
export function plainLines(text: MessageText): string[] {
  return [
    ...(text.rehearsal ? ['REHEARSAL: this message comes from a rehearsal, not the live cutover.', ''] : []),
    text.summary,
    ...(text.whoMustAct ? [`Who must act: ${text.whoMustAct}${text.byWhen ? `, ${text.byWhen}` : ''}.`] : []),
    ...(!text.whoMustAct && text.byWhen ? [`By: ${text.byWhen}.`] : []),
    ...text.facts.map((fact) => `${fact.label}: ${fact.value}`),
    '',
    ...(text.link ? [`Page: ${text.link}`] : []),
    `Command: ${text.command}`,
  ];
}
