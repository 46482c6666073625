/** The caps on person requests (run/request-limits.ts): pure rules, no Temporal. */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../run/state.js';
import {
  LOGGED_REFUSALS_PER_PERSON,
  mayLogRefusal,
  refuseMalformedRequest,
  refuseUnknownTarget,
  REFUSAL_WINDOW_MS,
} from '../run/request-limits.js';

describe('refuseMalformedRequest', () => {
  it('takes what the CLI sends', () => {
    const signature = { key: 'ed25519:abc', at: '2026-12-07T00:00:00Z', nonce: 'n', value: 'AAAA' };
    expect(refuseMalformedRequest('vote', { gateId: 'go', by: 'alice', reason: 'ok', evidence: 'sha256:1', signature })).toBeUndefined();
    expect(refuseMalformedRequest('resolve', { stepId: 's', by: 'alice', action: 'retry', reason: 'again' })).toBeUndefined();
    expect(refuseMalformedRequest('complete_manual', { stepId: 's', by: 'bob', automatic: true })).toBeUndefined();
  });

  it('refuses oversized, unknown and mistyped fields, naming them', () => {
    expect(refuseMalformedRequest('vote', { gateId: 'g'.repeat(201), by: 'alice' })).toBe(
      "the request's `gateId` is 201 characters long; it may have at most 200",
    );
    expect(refuseMalformedRequest('request_backout', { by: 'alice', reason: 'r'.repeat(4001) })).toMatch(/`reason` is 4001 characters/);
    expect(refuseMalformedRequest('request_backout', { by: 'alice', reason: 'r', junk: 'x' })).toMatch(
      /^the request has a field `junk` it does not take/,
    );
    expect(refuseMalformedRequest('resolve', { stepId: 's', by: 'a', action: 'skip', reason: 'r' })).toBe(
      "the request's `action` is not one of retry, done",
    );
    expect(
      refuseMalformedRequest('vote', { gateId: 'go', by: 'a', signature: { key: 'k', at: 'a', nonce: 'n', value: 'v'.repeat(201) } }),
    ).toMatch(/signature `value` is 201 characters long/);
    expect(refuseMalformedRequest('vote', { gateId: 'go', by: 'a', signature: { key: 'k', extra: 'x' } })).toMatch(
      /signature has a field `extra`/,
    );
    expect(refuseMalformedRequest('vote', 'go')).toBe('the request is not an object of fields');
  });
});

describe('refuseUnknownTarget', () => {
  const state = { steps: { go: { gate: {} }, load: {} } } as never;
  it('a vote names a gate of the run, done and resolve a step', () => {
    expect(refuseUnknownTarget('vote', { gateId: 'go' }, state)).toBeUndefined();
    expect(refuseUnknownTarget('vote', { gateId: 'load' }, state)).toBe('step `load` is not a gate');
    expect(refuseUnknownTarget('vote', { gateId: 'nope' }, state)).toBe('there is no gate `nope` in this run');
    expect(refuseUnknownTarget('resolve', { stepId: '__proto__' }, state)).toBe('there is no step `__proto__` in this run');
    expect(refuseUnknownTarget('request_backout', {}, state)).toBeUndefined();
  });
});

describe('mayLogRefusal', () => {
  const refusal = (by: string, at: string): Decision => ({ kind: 'refused', by, role: 'approve', at, automatic: false });
  const now = Date.parse('2026-12-07T12:00:00Z');
  it(`logs up to ${LOGGED_REFUSALS_PER_PERSON} of one person's refusals an hour`, () => {
    const recent = Array.from({ length: LOGGED_REFUSALS_PER_PERSON }, () => refusal('alice', new Date(now - 1000).toISOString()));
    expect(mayLogRefusal({ decisions: recent.slice(1) }, 'alice', now)).toBe(true);
    expect(mayLogRefusal({ decisions: recent }, 'alice', now)).toBe(false);
    expect(mayLogRefusal({ decisions: recent }, 'dana', now)).toBe(true);
    expect(mayLogRefusal({ decisions: recent }, 'alice', now + REFUSAL_WINDOW_MS)).toBe(true);
  });
});
