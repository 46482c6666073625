/**
 * Fixed starts in a real run (issue 21): a ready step with `not_before` waits for its time, measured from the
 * rehearsal's own start, while steps without one go on; the wait shows on the step; a back-out during the wait
 * never starts the held step. Real Temporal server, a real worker, the memory store.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestBackoutUpdate } from '../workflows/messages.js';
import { resultOf, startHarness, waitForState, type Harness } from './support/workflow-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const ROLES = `
lead: lead
roles:
  lead: [alice]
  dba: [bob]
`;

function logLines(file: string): string[] {
  const full = path.join(h.dir, file);
  return existsSync(full) ? readFileSync(full, 'utf8').trim().split('\n').filter(Boolean) : [];
}

describe('not_before in a run', () => {
  it('holds a ready step until its fixed start from the rehearsal start, and nothing else', async () => {
    const handle = await h.start(`
name: fixed-start
version: 1
${ROLES}
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: first, title: First, owner: dba, expected: 1s, action: { kind: shell, command: "echo first >> fixed.log" } }
      - { id: held, title: Held, owner: dba, expected: 1s, not_before: "+6s", action: { kind: shell, command: "echo held >> fixed.log" } }
      - { id: after, title: After, owner: dba, expected: 1s, depends_on: [first], action: { kind: shell, command: "echo after >> fixed.log" } }
`);
    // While it waits, the step says until when and why, and the others have gone on.
    const waiting = await waitForState(handle, (s) => s.steps.held?.heldUntil !== undefined && s.steps.after?.status === 'succeeded');
    expect(waiting.steps.held!.status).toBe('pending');
    expect(waiting.steps.held!.heldFor).toBe('not_before');
    expect(Date.parse(waiting.steps.held!.heldUntil!) - Date.parse(waiting.startedAt)).toBe(6_000);

    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(logLines('fixed.log')).toEqual(['first', 'after', 'held']);
    const held = result.state.steps.held!;
    expect(Date.parse(held.startedAt!) - Date.parse(result.state.startedAt)).toBeGreaterThanOrEqual(6_000);
    expect(held.heldUntil).toBeUndefined();
    // The steps without a fixed start did not wait for it.
    expect(Date.parse(result.state.steps.after!.endedAt!)).toBeLessThan(Date.parse(held.startedAt!));
  });

  it('a back-out during the wait never starts the held step', async () => {
    const handle = await h.start(`
name: fixed-backout
version: 1
${ROLES}
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: first, title: First, owner: dba, expected: 1s, action: { kind: shell, command: "echo first >> held-backout.log" }, backout: { kind: shell, command: "echo undo-first >> held-backout.log" } }
      - { id: later, title: Later, owner: dba, expected: 1s, not_before: "+1h", action: { kind: shell, command: "echo later >> held-backout.log" } }
`);
    await waitForState(handle, (s) => s.steps.later?.heldUntil !== undefined && s.steps.first?.status === 'succeeded');
    await handle.executeUpdate(requestBackoutUpdate, { args: [{ by: 'alice', reason: 'not tonight' }] });
    const result = await resultOf(handle);
    expect(result.status).toBe('backed_out');
    expect(result.state.steps.later!.status).toBe('cancelled');
    expect(result.state.steps.later!.startedAt).toBeUndefined();
    expect(logLines('held-backout.log')).toEqual(['first', 'undo-first']);
  });
});

describe('interface freezes in a run', () => {
  it('holds a switch-on step that is ready inside a freeze until the freeze ends, moved with the rehearsal start', async () => {
    // The freeze covers the first 6 s of the night; a rehearsal's night starts when it does.
    const handle = await h.start(`
name: freeze-held
version: 1
${ROLES}
window: { start: "2027-03-06T22:00:00Z", length: 8h }
freeze_windows:
  - { start: "2027-03-06T22:00:00Z", end: "2027-03-06T22:00:06Z", reason: "month-end batch" }
phases:
  - id: migrate
    kind: migration
    steps:
      - { id: load, title: Load, owner: dba, expected: 1s, action: { kind: shell, command: "echo load >> freeze.log" } }
  - id: switch
    kind: interface_switch_on
    steps:
      - { id: sync-on, title: Sync on, owner: dba, expected: 1s, depends_on: [load], action: { kind: shell, command: "echo sync-on >> freeze.log" } }
`);
    const waiting = await waitForState(handle, (s) => s.steps['sync-on']?.heldUntil !== undefined);
    expect(waiting.steps['sync-on']!.heldFor).toBe('interface freeze (month-end batch)');
    expect(Date.parse(waiting.steps['sync-on']!.heldUntil!) - Date.parse(waiting.startedAt)).toBe(6_000);
    expect(logLines('freeze.log')).toEqual(['load']);

    const result = await resultOf(handle);
    expect(result.status).toBe('completed');
    expect(logLines('freeze.log')).toEqual(['load', 'sync-on']);
    expect(Date.parse(result.state.steps['sync-on']!.startedAt!) - Date.parse(result.state.startedAt)).toBeGreaterThanOrEqual(6_000);
  });
});
