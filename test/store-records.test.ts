/**
 * The record store against real databases through Prisma, the same suite for each provider: a fresh
 * SQLite file, and a fresh database on a real PostgreSQL server started by this file
 * (test/support/postgres.ts), each with the committed migrations applied (copies of the test run's migrated
 * databases: store.test.ts is where `openRecordStore` applies them the way a new clone would).
 * This file: what runs record (step attempts, checks, decisions, reconciliations, state) and reading it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, reservation, runState, stepAttempt, useStoreDatabases } from './support/store-fixtures.js';
import type { CheckOutcome, Decision } from '../run/state.js';
import type { ReconcileResult } from '../reconcile/result.js';
import type { RecordStore } from '../prisma/record-store.js';
import { RunNotFoundError } from '../prisma/store-errors.js';
import { openRecordStore } from '../prisma/store.js';

const { migratedUrl } = useStoreDatabases();

describe.each(PROVIDERS)('%s', (provider) => {
  let databaseUrl: string;
  let store: RecordStore;

  beforeAll(async () => {
    databaseUrl = await migratedUrl(provider, 'cutover');
    store = await openRecordStore({ databaseUrl });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
  });

  describe('step attempts', () => {
    it('recording the same attempt twice leaves one row with the latest values', async () => {
      const { runId } = await store.reserveRun(reservation('steps'));
      await store.recordStepAttempt(stepAttempt(runId));
      const ended = { status: 'succeeded', endedAt: '2025-03-01T20:01:30.000Z', exitCode: 0, outputTail: 'frozen' } as const;
      await store.recordStepAttempt(stepAttempt(runId, ended));
      await store.recordStepAttempt(stepAttempt(runId, ended)); // an activity retry
      const { steps } = await store.getRun(runId);
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({
        stepId: 'freeze',
        attempt: 1,
        status: 'succeeded',
        startedAt: '2025-03-01T20:00:01.000Z',
        endedAt: '2025-03-01T20:01:30.000Z',
        exitCode: 0,
        outputTail: 'frozen',
        plannedDurationMs: 60_000,
      });
    });

    it('keeps attempts and back-outs apart, in the order they were recorded', async () => {
      const { runId } = await store.reserveRun(reservation('steps-attempts'));
      await store.recordStepAttempt(stepAttempt(runId, { status: 'failed', error: 'exit 1', exitCode: 1 }));
      await store.recordStepAttempt(stepAttempt(runId, { attempt: 2, status: 'succeeded' }));
      await store.recordStepAttempt(stepAttempt(runId, { purpose: 'backout', status: 'succeeded' }));
      const { steps } = await store.getRun(runId);
      expect(steps.map((s) => [s.purpose, s.attempt, s.status])).toEqual([
        ['forward', 1, 'failed'],
        ['forward', 2, 'succeeded'],
        ['backout', 1, 'succeeded'],
      ]);
      expect(steps[0]?.error).toBe('exit 1');
    });

    it('keeps plans longer than 24.8 days (a 32-bit column would refuse them): weeks of hypercare', async () => {
      const weeks = (n: number) => n * 7 * 24 * 3600 * 1000;
      const { runId } = await store.reserveRun(reservation('steps-long', { windowMs: weeks(8) }));
      await store.recordStepAttempt(stepAttempt(runId, { plannedStartMs: weeks(5), plannedDurationMs: weeks(6) }));
      const run = await store.getRun(runId);
      expect(run.windowMs).toBe(weeks(8));
      expect(run.steps[0]).toMatchObject({ plannedStartMs: weeks(5), plannedDurationMs: weeks(6) });
    });

    it('refuses an attempt for a run that was never reserved', async () => {
      await expect(store.recordStepAttempt(stepAttempt('ghost-1'))).rejects.toBeInstanceOf(RunNotFoundError);
    });
  });

  describe('checks and decisions', () => {
    it('records check results idempotently, by their index', async () => {
      const { runId } = await store.reserveRun(reservation('checks'));
      const checks: CheckOutcome[] = [
        { name: 'api up', kind: 'http', passed: true, detail: '200 OK', at: '2025-03-01T20:02:00.000Z' },
        { name: 'rows match', kind: 'sql', passed: false, detail: 'expected 120, got 118', at: '2025-03-01T20:02:01.000Z' },
      ];
      await store.recordCheckResults(runId, 'freeze', 1, checks);
      await store.recordCheckResults(runId, 'freeze', 1, checks);
      const run = await store.getRun(runId);
      expect(run.checks).toEqual(checks.map((check, seq) => ({ ...check, stepId: 'freeze', attempt: 1, seq })));
    });

    it('keeps the decision log in order, and a retried decision once', async () => {
      const { runId } = await store.reserveRun(reservation('decisions'));
      const approve: Decision = {
        kind: 'approve',
        by: 'cfo@example.com',
        role: 'finance',
        target: 'go-no-go',
        reason: 'reconciliation clean',
        at: '2025-03-01T21:00:00.000Z',
        automatic: false,
      };
      const backout: Decision = {
        kind: 'request_backout',
        by: 'lead@example.com',
        role: 'lead',
        at: '2025-03-01T21:05:00.000Z',
        automatic: false,
      };
      // Out of order and retried, as activities may deliver them.
      await store.recordDecision(runId, 1, backout);
      await store.recordDecision(runId, 0, approve);
      await store.recordDecision(runId, 1, backout);
      const { decisions } = await store.getRun(runId);
      expect(decisions).toEqual([
        { seq: 0, ...approve },
        { seq: 1, ...backout },
      ]);
    });

    it('keeps who sent each request beside the log, not in its entries', async () => {
      const { runId } = await store.reserveRun(reservation('senders'));
      const vote = (by: string, updateId?: string): Decision => ({
        kind: 'approve',
        by,
        role: 'business',
        target: 'go',
        at: '2025-03-01T21:00:00.000Z',
        automatic: false,
        ...(updateId ? { updateId } : {}),
      });
      await store.recordDecision(runId, 0, vote('dana', 'update-a'));
      await store.recordDecision(runId, 1, vote('erin'));
      await store.recordDecision(runId, 2, vote('frank', 'update-c'));
      // Senders of Updates the log does not know (another run's, a refused one) change nothing.
      await store.recordSenders(runId, { 'update-a': '4242@dana-laptop', 'update-c': '77@jump-host', 'update-x': '1@elsewhere' });
      const run = await store.getRun(runId);
      expect(run.senders).toEqual({ 0: '4242@dana-laptop', 2: '77@jump-host' });
      // The entries are what the run decided (and hashed), unchanged.
      expect(run.decisions).toEqual([
        { seq: 0, ...vote('dana', 'update-a') },
        { seq: 1, ...vote('erin') },
        { seq: 2, ...vote('frank', 'update-c') },
      ]);
    });
  });

  describe('reconciliations', () => {
    const result = (mismatched: number): ReconcileResult => ({
      matched: 3_000_000_000,
      missing_in_target: 0,
      extra_in_target: 2,
      mismatched,
      duplicate_keys: { source: 0, target: 1 },
      null_keys: { source: 0, target: 0 },
      columns: [{ source: 'email', target: 'mail', mismatched }],
      examples: [{ kind: 'extra_in_target', key: { id: 'ü-7' }, columns: ['mail'], source: null, target: { mail: 'x@example.com' } }],
      key_examples: [],
      rows_read: { source: 3_000_000_000, target: 3_000_000_002 },
      sampled: false,
      sample: null,
      target_columns_not_compared: [],
      within_limits: mismatched === 0,
      limit_violations: [],
      seconds: 12.5,
    });
    const at = (minute: number) => `2025-03-01T20:0${minute}:00.000Z`;

    it('records each round once, keeps counts past 2^31 exactly, and reads them back by step, attempt and check', async () => {
      const { runId } = await store.reserveRun(reservation('reconciliations'));
      const record = (check: string, round: number, mismatched: number) =>
        store.recordReconcileResult({
          runId,
          stepId: 'compare',
          attempt: 1,
          check,
          round,
          startedAt: at(round),
          endedAt: at(round + 1),
          result: result(mismatched),
        });
      await record('', 1, 0);
      await record('hypercare', 1, 0);
      await record('hypercare', 2, 5);
      // A retried activity writes the same round again: still one row, with the latest values.
      await record('hypercare', 2, 7);
      const rounds = await store.reconcileResults(runId, { stepId: 'compare', check: 'hypercare' });
      expect(rounds.map((r) => [r.round, r.result.mismatched, r.startedAt])).toEqual([
        [1, 0, at(1)],
        [2, 7, at(2)],
      ]);
      const all = await store.reconcileResults(runId);
      expect(all).toHaveLength(3);
      expect(all[0]!.result).toEqual(result(0));
      // Written to the BIGINT count columns too (an INTEGER column would refuse 3,000,000,000 on PostgreSQL).
      expect(all[0]!.result.matched).toBe(3_000_000_000);
      expect(await store.reconcileResults(runId, { attempt: 2 })).toEqual([]);
    });

    it("filters by step, attempt and check (the action is check ''), and goes with a discarded run", async () => {
      const { runId } = await store.reserveRun(reservation('reconcile-filters'));
      const record = (stepId: string, attempt: number, check: string) =>
        store.recordReconcileResult({ runId, stepId, attempt, check, round: 1, startedAt: at(1), endedAt: at(2), result: result(attempt) });
      await record('compare', 1, '');
      await record('compare', 2, '');
      await record('compare', 2, 'orders agree');
      await record('verify', 1, '');
      const keys = (rows: { stepId: string; attempt: number; check: string }[]) => rows.map((r) => `${r.stepId}/${r.attempt}/${r.check}`);
      expect(keys(await store.reconcileResults(runId, { stepId: 'compare' }))).toEqual([
        'compare/1/',
        'compare/2/',
        'compare/2/orders agree',
      ]);
      expect(keys(await store.reconcileResults(runId, { stepId: 'compare', attempt: 2, check: '' }))).toEqual(['compare/2/']);
      expect(keys(await store.reconcileResults(runId, { check: 'orders agree' }))).toEqual(['compare/2/orders agree']);
      expect(keys(await store.reconcileResults(runId, { stepId: 'verify' }))).toEqual(['verify/1/']);
      expect(await store.reconcileResults(runId, { stepId: 'nope' })).toEqual([]);
      expect(await store.reconcileResults('no-such-run-3')).toEqual([]);
      // A run reserved but never started is deleted whole: its results go with it (ON DELETE CASCADE).
      expect(await store.discardRun(runId)).toBe(true);
      expect(await store.reconcileResults(runId)).toEqual([]);
    });

    it('refuses a result for a run it does not know', async () => {
      await expect(
        store.recordReconcileResult({
          runId: 'ghost-1',
          stepId: 's',
          attempt: 1,
          check: '',
          round: 1,
          startedAt: at(1),
          endedAt: at(2),
          result: result(0),
        }),
      ).rejects.toThrow(RunNotFoundError);
    });
  });

  describe('run state', () => {
    it('finishRun then getRun returns the final snapshot and back-out', async () => {
      const { runId } = await store.reserveRun(reservation('finish'));
      await store.markRunStarted(runId, { startedAt: '2025-03-01T20:00:00.000Z' });
      const backingOut = runState(runId, {
        status: 'backing_out',
        backout: {
          status: 'running',
          trigger: 'gate_rejected',
          reason: 'sample did not reconcile',
          requestedBy: 'cfo@example.com',
          requestedAt: '2025-03-01T21:00:00.000Z',
          startedAt: '2025-03-01T21:00:01.000Z',
        },
      });
      await store.recordRunState(runId, backingOut);
      expect(await store.getRun(runId)).toMatchObject({ status: 'backing_out', backoutTrigger: 'gate_rejected' });

      const final = runState(runId, {
        status: 'backed_out',
        endedAt: '2025-03-01T21:30:00.000Z',
        outcome: 'Backed out after finance rejected the go/no-go gate.',
        backout: { ...backingOut.backout, status: 'completed', endedAt: '2025-03-01T21:29:00.000Z' },
      });
      await store.finishRun(runId, {
        status: 'backed_out',
        outcome: final.outcome ?? '',
        endedAt: '2025-03-01T21:30:00.000Z',
        state: final,
      });
      // A late retry of an earlier state must not reopen a finished run.
      await store.recordRunState(runId, backingOut);

      const run = await store.getRun(runId);
      expect(run.state).toEqual(final);
      expect(run).toMatchObject({
        status: 'backed_out',
        outcome: 'Backed out after finance rejected the go/no-go gate.',
        startedAt: '2025-03-01T20:00:00.000Z',
        endedAt: '2025-03-01T21:30:00.000Z',
        backoutTrigger: 'gate_rejected',
        backoutReason: 'sample did not reconcile',
        backoutRequestedBy: 'cfo@example.com',
        backoutStartedAt: '2025-03-01T21:00:01.000Z',
        backoutEndedAt: '2025-03-01T21:29:00.000Z',
      });
    });

    it('a snapshot that names its revision is written only over an older one', async () => {
      const { runId } = await store.reserveRun(reservation('revisions'));
      await store.markRunStarted(runId, { startedAt: '2025-03-01T20:00:00.000Z' });
      // Written without waiting by the workflow: the newer (gate open, revision 7) lands before the older (revision 3).
      await store.recordRunState(runId, runState(runId, { status: 'waiting' }), { execution: 1, revision: 7 });
      await store.recordRunState(runId, runState(runId, { status: 'running' }), { execution: 1, revision: 3 });
      expect((await store.getRun(runId)).state?.status).toBe('waiting');
      // The next execution counts its revisions from the start again: any of its snapshots is newer.
      await store.recordRunState(runId, runState(runId, { status: 'running' }), { execution: 2, revision: 1 });
      expect((await store.getRun(runId)).state?.status).toBe('running');
      await store.recordRunState(runId, runState(runId, { status: 'waiting' }), { execution: 1, revision: 9 });
      expect((await store.getRun(runId)).state?.status).toBe('running');
    });

    it('a state recorded before markRunStarted starts the run, and the status is not set back', async () => {
      const { runId } = await store.reserveRun(reservation('state-first'));
      await store.recordRunState(runId, runState(runId, { status: 'waiting' }));
      await store.markRunStarted(runId, { startedAt: '2025-03-01T20:00:00.000Z' });
      expect(await store.getRun(runId)).toMatchObject({ status: 'waiting', startedAt: '2025-03-01T20:00:00.000Z' });
      expect(await store.discardRun(runId)).toBe(false);
    });
  });

  describe('reading', () => {
    it('getRun on an unknown id throws RunNotFoundError; findRun returns null', async () => {
      await expect(store.getRun('no-such-run-9')).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(store.getRun('no-such-run-9')).rejects.toThrow('no-such-run-9');
      expect(await store.findRun('no-such-run-9')).toBeNull();
    });

    it('lists runs newest first, optionally for one runbook and limited', async () => {
      const first = await store.reserveRun(reservation('listing'));
      const other = await store.reserveRun(reservation('listing-other'));
      const second = await store.reserveRun(reservation('listing'));
      expect((await store.listRuns({ runbookName: 'listing' })).map((r) => r.id)).toEqual([second.runId, first.runId]);
      expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual([second.runId, other.runId]);
      const [listed] = await store.listRuns({ runbookName: 'listing', limit: 1 });
      expect(listed).not.toHaveProperty('runbookSource');
      expect(listed).not.toHaveProperty('state');
    });

    it("reads a runbook's runs back for timing review: one timing per step and purpose, attempts folded", async () => {
      const first = await store.reserveRun(reservation('timing'));
      const second = await store.reserveRun(reservation('timing'));
      await store.reserveRun(reservation('timing-other'));
      // freeze: failed at its first attempt, succeeded at its second; its undo ran in the back-out.
      await store.recordStepAttempt(
        stepAttempt(second.runId, { status: 'failed', startedAt: '2025-03-01T20:00:00.000Z', endedAt: '2025-03-01T20:01:00.000Z' }),
      );
      await store.recordStepAttempt(
        stepAttempt(second.runId, {
          attempt: 2,
          status: 'succeeded',
          startedAt: '2025-03-01T20:02:00.000Z',
          endedAt: '2025-03-01T20:05:00.000Z',
        }),
      );
      await store.recordStepAttempt(
        stepAttempt(second.runId, {
          purpose: 'backout',
          status: 'succeeded',
          startedAt: '2025-03-01T20:10:00.000Z',
          endedAt: '2025-03-01T20:10:30.000Z',
        }),
      );
      await store.recordStepAttempt(stepAttempt(first.runId, { stepId: 'copy', status: 'running', endedAt: null }));

      const runs = await store.runbookRuns('timing');
      expect(runs.map((r) => r.id)).toEqual([second.runId, first.runId]);
      expect(await store.runbookRuns('timing', 1)).toHaveLength(1);
      const [timed, older] = await store.runTimings(runs);
      expect(timed!.steps).toEqual([
        {
          stepId: 'freeze',
          phaseId: 'prepare',
          purpose: 'forward',
          attempts: 2,
          status: 'succeeded',
          treatment: 'run',
          startedAt: '2025-03-01T20:00:00.000Z',
          endedAt: '2025-03-01T20:05:00.000Z',
          durationMs: 300_000,
          plannedDurationMs: 60_000,
        },
        expect.objectContaining({ stepId: 'freeze', purpose: 'backout', attempts: 1, durationMs: 30_000 }),
      ]);
      expect(older!.steps).toEqual([expect.objectContaining({ stepId: 'copy', status: 'running', endedAt: null, durationMs: null })]);
      expect(await store.latestRunbookSource('timing')).toEqual({ runId: second.runId, source: reservation('timing').runbookSource });
      expect(await store.latestRunbookSource('no-such-runbook')).toBeNull();
    });

    it('returns plain JSON values, not Prisma or Date objects', async () => {
      const { runId } = await store.reserveRun(reservation('plain'));
      await store.recordStepAttempt(stepAttempt(runId));
      const run = await store.getRun(runId);
      expect(JSON.parse(JSON.stringify(run))).toEqual(run);
    });
  });
});
