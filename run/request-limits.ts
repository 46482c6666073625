/**
 * What a person request may carry (issue 17): anyone with access to the Temporal namespace can send the run's Updates
 * with any payload, and a request that is let in is logged in the decision log, which rides in every checkpoint. So
 * every field has a cap, a request names a step or gate the run has, and the refusals logged for one person are
 * rate-limited; what breaks these rules is refused at the door and never logged. Pure: the workflow bundles it.
 */
import type { RunState } from './state.js';

/** The most characters each field may have. A reason is a few sentences; ids and names are short. */
export const REQUEST_LIMITS = {
  /** A step or gate id, a person's name, a role. */
  name: 200,
  /** A reason: room for a paragraph. */
  reason: 4000,
  /** The digest of the evidence a vote was cast on. */
  evidence: 200,
  /** Each field of a signature (an Ed25519 key, signature and nonce are under 100; a passkey line about 200). */
  signature: 200,
  /** A passkey's assertion: its client data JSON (about 300 characters in base64url), authenticator data, credential id. */
  assertion: 2000,
} as const;

/** At most this many refusals of one person's requests are logged in any {@link REFUSAL_WINDOW_MS}. */
export const LOGGED_REFUSALS_PER_PERSON = 10;
export const REFUSAL_WINDOW_MS = 60 * 60 * 1000;

/** The five person requests, by the Update that carries them. */
export type RequestKind = 'vote' | 'complete_manual' | 'request_backout' | 'resolve' | 'incident' | 'acknowledge';

const NAME = REQUEST_LIMITS.name;
const FIELDS: Record<RequestKind, Record<string, number | 'boolean' | 'integer' | 'signature' | readonly string[]>> = {
  vote: {
    gateId: NAME,
    by: NAME,
    role: NAME,
    reason: REQUEST_LIMITS.reason,
    evidence: REQUEST_LIMITS.evidence,
    automatic: 'boolean',
    signature: 'signature',
  },
  acknowledge: { stepId: NAME, by: NAME, signature: 'signature' },
  complete_manual: { stepId: NAME, by: NAME, reason: REQUEST_LIMITS.reason, automatic: 'boolean', signature: 'signature' },
  request_backout: { by: NAME, reason: REQUEST_LIMITS.reason, automatic: 'boolean', signature: 'signature' },
  resolve: {
    stepId: NAME,
    by: NAME,
    action: ['retry', 'done'],
    reason: REQUEST_LIMITS.reason,
    automatic: 'boolean',
    signature: 'signature',
  },
  // Hypercare incidents (run/hypercare.ts): which fields each action takes is the run's rule; here, their caps.
  incident: {
    action: ['open', 'update', 'resolve'],
    by: NAME,
    severity: 'integer',
    title: REQUEST_LIMITS.reason,
    owner: NAME,
    step: NAME,
    external: NAME,
    incidentId: NAME,
    eta: NAME,
    note: REQUEST_LIMITS.reason,
    signature: 'signature',
  },
};
const SIGNATURE_FIELDS = ['key', 'at', 'nonce', 'value', 'authenticatorData', 'clientDataJSON', 'credential'];
/** The signature fields that carry a passkey's assertion, with the larger cap. */
const ASSERTION_FIELDS = ['authenticatorData', 'clientDataJSON', 'credential'];

/**
 * Why a request of `kind` is malformed (a field the request does not have, of the wrong type, longer than its cap), or
 * undefined. Checked before the run's state is there: it looks at the request alone.
 */
export function refuseMalformedRequest(kind: RequestKind, request: unknown): string | undefined {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return 'the request is not an object of fields';
  const fields = FIELDS[kind];
  for (const [field, value] of Object.entries(request)) {
    const rule = fields[field];
    if (rule === undefined)
      return `the request has a field \`${field.slice(0, NAME)}\` it does not take (it takes ${Object.keys(fields).join(', ')})`;
    if (value === undefined) continue;
    if (rule === 'boolean') {
      if (typeof value !== 'boolean') return `the request's \`${field}\` is not true or false`;
    } else if (rule === 'integer') {
      if (!Number.isInteger(value)) return `the request's \`${field}\` is not a whole number`;
    } else if (rule === 'signature') {
      const why = refuseSignatureShape(value);
      if (why) return why;
    } else if (Array.isArray(rule)) {
      if (!rule.includes(value as string)) return `the request's \`${field}\` is not one of ${rule.join(', ')}`;
    } else if (typeof value !== 'string') {
      return `the request's \`${field}\` is not text`;
    } else if (value.length > (rule as number)) {
      return `the request's \`${field}\` is ${value.length} characters long; it may have at most ${rule as number}`;
    }
  }
  return undefined;
}

function refuseSignatureShape(signature: unknown): string | undefined {
  // The signature rule says what a signature needs; here only that nothing in it is oversized or extra.
  if (signature === null || typeof signature !== 'object' || Array.isArray(signature)) return undefined;
  for (const [field, value] of Object.entries(signature)) {
    if (!SIGNATURE_FIELDS.includes(field))
      return `the request's signature has a field \`${field.slice(0, NAME)}\` it does not take (${SIGNATURE_FIELDS.join(', ')})`;
    const cap = ASSERTION_FIELDS.includes(field) ? REQUEST_LIMITS.assertion : REQUEST_LIMITS.signature;
    if (typeof value === 'string' && value.length > cap)
      return `the request's signature \`${field}\` is ${value.length} characters long; it may have at most ${cap}`;
  }
  return undefined;
}

/** Why the request's target is not one the run has (a vote names a gate, done and resolve a step), or undefined. */
export function refuseUnknownTarget(kind: RequestKind, request: object, state: Pick<RunState, 'steps'>): string | undefined {
  if (kind === 'request_backout' || kind === 'incident') return undefined;
  const field = kind === 'vote' ? 'gateId' : 'stepId';
  const id = (request as Record<string, unknown>)[field];
  if (typeof id !== 'string' || id === '') return `the request names no ${kind === 'vote' ? 'gate' : 'step'} (\`${field}\`)`;
  const step = Object.hasOwn(state.steps, id) ? state.steps[id] : undefined;
  if (!step) return `there is no ${kind === 'vote' ? 'gate' : 'step'} \`${id}\` in this run`;
  if (kind === 'vote' && !step.gate) return `step \`${id}\` is not a gate`;
  return undefined;
}

/**
 * Whether a refusal of `by`'s request may still be logged at `nowMs`: fewer than {@link LOGGED_REFUSALS_PER_PERSON}
 * of theirs were logged in the last {@link REFUSAL_WINDOW_MS}. Past that, their refused requests are answered but not
 * logged, so nobody fills the log in their name (their own requests that are allowed still go through).
 */
export function mayLogRefusal(state: Pick<RunState, 'decisions'>, by: string, nowMs: number): boolean {
  let recent = 0;
  for (let i = state.decisions.length - 1; i >= 0; i -= 1) {
    const d = state.decisions[i]!;
    if (d.kind !== 'refused' || d.by !== by) continue;
    if (nowMs - Date.parse(d.at) >= REFUSAL_WINDOW_MS) continue;
    recent += 1;
    if (recent >= LOGGED_REFUSALS_PER_PERSON) return false;
  }
  return true;
}
