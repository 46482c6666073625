/**
 * The prompts behind the console's request keys (`a`, `r`, `d`, `R`, `b`): for the selected step, either the form
 * that asks who you are and why, and builds the request from the answers, or the sentence saying why the key does
 * nothing here. Pure.
 */
import { HYPERCARE_EXIT_ID } from '../../run/hypercare.js';
import type { RunSummary, StepState } from '../../run/state.js';
import type { ConsoleAction } from './actions.js';

/** The run's own fields, as the console holds them. */
type RunHead = Omit<RunSummary, 'attention'>;

/** One question of a form. */
export interface Field {
  label: string;
  initial?: string;
  hint?: string;
  /** Why an answer is not taken, or undefined when it is. */
  check?: (value: string) => string | undefined;
}

/** The questions of one request, and how the answers become it. */
export interface Form {
  title: string;
  fields: Field[];
  build: (values: string[]) => ConsoleAction;
}

/** A form being answered: which question, the answers so far, the last refusal. */
export interface FormState {
  form: Form;
  index: number;
  values: string[];
  problem?: string;
  /** Counts refused answers: each gets a fresh line. */
  tries?: number;
}

/** What the selected step allows now. */
export interface Allowed {
  canAct: boolean;
  gateOpen: boolean;
  /** The hypercare exit gate is open: `a` and `r` decide it when the selected step is no open gate. */
  exitGateOpen: boolean;
  manual: boolean;
  resolvable: boolean;
  canBackout: boolean;
  ended: boolean;
}

/** What may be asked of `step` now (a run that ended, or shown from the record store, takes nothing). */
export function allowedOn(step: StepState | undefined, head: RunHead | undefined, canAct: boolean): Allowed {
  const ended = head?.endedAt !== undefined;
  return {
    canAct,
    ended,
    gateOpen: step?.gate?.status === 'open' && step.status === 'waiting',
    exitGateOpen: !ended && head?.hypercare?.status === 'open' && head.hypercare.exit.status === 'open',
    manual:
      (step?.status === 'waiting' && step.waitingFor === 'manual') ||
      step?.backout?.status === 'manual' ||
      (step?.backout?.status === 'waiting' && !step.resolution),
    resolvable: step?.resolution !== undefined && !step.resolution.decided,
    canBackout: canAct && head?.backout.status === 'not_requested',
  };
}

const required =
  (what: string) =>
  (v: string): string | undefined =>
    v.trim() ? undefined : `${what} is required (it goes into the decision log)`;

/** The identity question every form starts with, offering `identity` (`--as`, CUTOVER_AS) first. */
function whoField(identity: string | undefined): Field {
  return { label: 'who are you', initial: identity ?? '', hint: 'a person named in the runbook roles', check: required('who you are') };
}

/**
 * The form the request key `input` opens on `step`, the sentence saying why it does not apply, or undefined when
 * `input` is no request key.
 */
export function requestForm(
  input: string,
  step: StepState,
  head: RunHead,
  allowed: Allowed,
  identity: string | undefined,
): Form | string | undefined {
  const who = whoField(identity);
  const { canAct } = allowed;
  if (input === 'a' || input === 'r') {
    const approve = input === 'a';
    if (canAct && allowed.gateOpen)
      // The evidence is what the console showed the person: a vote on evidence that changed since is refused.
      return gateForm(approve, step.id, step.gate?.question ?? step.title, who, step.gate?.evidence?.digest);
    // After go-live no step waits: the keys decide the exit gate, as `cutover approve|reject RUN hypercare-exit` does.
    if (canAct && allowed.exitGateOpen) return gateForm(approve, HYPERCARE_EXIT_ID, 'end hypercare?', who, undefined);
    return `${input}: ${step.id} is not an open gate`;
  }
  if (input === 'd') {
    if (!canAct || !allowed.manual) return `d: ${step.id} is not a manual step waiting to be done`;
    return {
      title: `mark ${step.id} done: ${step.title}`,
      fields: [who, { label: 'note (optional)' }],
      build: ([as, note]) => ({ kind: 'done', stepId: step.id, as: as!.trim(), ...(note?.trim() ? { reason: note.trim() } : {}) }),
    };
  }
  if (input === 'R') {
    if (!canAct || !allowed.resolvable) return `R: ${step.id} has no failure waiting to be resolved`;
    return {
      title: `resolve ${step.id}: ${step.resolution!.error.split('\n')[0]}`,
      fields: [
        {
          label: 'retry or done',
          hint: 'retry: run it again; done: it was done by hand, carry on',
          check: (v) => (['retry', 'done'].includes(v.trim()) ? undefined : 'type retry or done'),
        },
        who,
        { label: 'why', check: required('a reason') },
      ],
      build: ([choice, as, reason]) => ({
        kind: 'resolve',
        stepId: step.id,
        action: choice!.trim() as 'retry' | 'done',
        as: as!.trim(),
        reason: reason!.trim(),
      }),
    };
  }
  if (input === 'b') {
    if (!allowed.canBackout) return allowed.ended ? 'b: the run has ended' : 'b: back-out is already under way';
    return {
      title: `BACK OUT ${head.runId}: running steps finish, then completed steps are undone in reverse order`,
      fields: [
        {
          label: `type the runbook name (${head.runbookName}) to confirm`,
          check: (v) => (v.trim() === head.runbookName ? undefined : `that is not ${head.runbookName}; Esc to cancel`),
        },
        who,
        { label: 'why', check: required('a reason') },
      ],
      build: ([, as, reason]) => ({ kind: 'backout', as: as!.trim(), reason: reason!.trim() }),
    };
  }
  return undefined;
}

/** The vote on gate `gateId`: who, and why (required for a rejection). */
function gateForm(approve: boolean, gateId: string, question: string, who: Field, evidence: string | undefined): Form {
  return {
    title: `${approve ? 'approve' : 'reject'} gate ${gateId}: ${question}`,
    fields: [
      who,
      {
        label: approve ? 'why (optional)' : 'why',
        hint: 'recorded in the decision log',
        ...(approve ? {} : { check: required('a reason') }),
      },
    ],
    build: ([as, reason]) =>
      approve
        ? {
            kind: 'approve',
            gateId,
            as: as!.trim(),
            ...(reason?.trim() ? { reason: reason.trim() } : {}),
            ...(evidence ? { evidence } : {}),
          }
        : { kind: 'reject', gateId, as: as!.trim(), reason: reason!.trim(), ...(evidence ? { evidence } : {}) },
  };
}

/** `approve go-no-go`, `done announce-freeze`, `backout`: what a request in flight is called on screen. */
export function requestLabel(action: ConsoleAction): string {
  return `${action.kind}${'gateId' in action ? ` ${action.gateId}` : 'stepId' in action ? ` ${action.stepId}` : ''}`;
}
