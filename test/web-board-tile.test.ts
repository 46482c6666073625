/**
 * What a wallboard tile says of a run that went red: the command centre's wall is read by people who were not told,
 * so a run backing out after a failure, or backed out, names the step that failed. Pure unit test on the tile.
 */
import { expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import { initialRunState } from '../run/transitions.js';
import { boardTile } from '../web/board.js';

const parsed = parseRunbook(
  `
name: wall
version: 1
lead: lead
roles: { lead: [alice], dba: [bob] }
phases:
  - id: load
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: dba, expected: 1m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: boom, title: Boom, owner: dba, expected: 1m, depends_on: [copy], action: { kind: shell, command: "false" } }
`,
  'wall.yaml',
);

function runAt(start: string) {
  if (!parsed.ok) throw new Error('fixture invalid');
  return initialRunState({ runId: 'wall-1', runbook: parsed.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' }, start);
}

it('names the failed step while the run waits on it, while it backs out because of it, and once it has backed out', () => {
  const start = '2026-12-05T22:00:00.000Z';
  const state = runAt(start);
  state.steps.copy = { ...state.steps.copy!, status: 'succeeded', startedAt: start, endedAt: '2026-12-05T22:01:00.000Z' };
  state.steps.boom = { ...state.steps.boom!, status: 'failed', startedAt: '2026-12-05T22:01:00.000Z', endedAt: '2026-12-05T22:01:05.000Z' };
  state.status = 'waiting';
  const record = { id: 'wall-1', runbookName: 'wall', mode: 'rehearsal' as const, status: 'waiting' as const };
  const now = Date.parse('2026-12-05T22:01:10.000Z');
  expect(boardTile(record, state, now)).toMatchObject({ rag: 'red', why: 'boom failed' });

  state.backout = { ...state.backout, status: 'running' };
  state.status = 'backing_out';
  expect(boardTile({ ...record, status: 'backing_out' }, state, now)).toMatchObject({ rag: 'red', why: 'backing out: boom failed' });

  // Backed out in seconds, before the wall's next reload: the ended tile still says why.
  state.backout = { ...state.backout, status: 'completed', endedAt: '2026-12-05T22:01:20.000Z' };
  state.status = 'backed_out';
  state.endedAt = '2026-12-05T22:01:20.000Z';
  const ended = boardTile({ ...record, status: 'backed_out' }, state, now + 20_000);
  expect(ended).toMatchObject({ rag: 'red', why: 'backed out: boom failed', inFlight: false });
});

it('says only that a run backs out when no step failed (the lead asked for it)', () => {
  const state = runAt('2026-12-05T22:00:00.000Z');
  state.backout = { ...state.backout, status: 'running' };
  state.status = 'backing_out';
  const tile = boardTile(
    { id: 'wall-1', runbookName: 'wall', mode: 'rehearsal', status: 'backing_out' },
    state,
    Date.parse('2026-12-05T22:00:30.000Z'),
  );
  expect(tile).toMatchObject({ rag: 'red', why: 'backing out' });
});
