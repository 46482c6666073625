/**
 * Which steps fall outside the change window or run into an interface freeze at the forecast's P90
 * (timing/window-fit.ts, what `cutover doctor RUNBOOK` reports), from the plan and from recorded runs; and the doctor
 * lines a lead reads, through the built CLI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import type { TimedRun } from '../timing/runs.js';
import { windowFit } from '../timing/window-fit.js';
import { cliEnv, runCli } from './support/cli.js';

const MIN = 60_000;

/**
 * copy (1h) -> load (`load` long) -> switch-on: enable (20m). The change window closes 2h45m after 22:00; interfaces
 * are frozen from 00:10 to 01:00.
 */
const text = (load: string) => `name: wf
version: 1
lead: lead
roles: { lead: [alice] }
window: { start: "2026-12-05T22:00:00Z", length: 6h }
change_window: { start: "2026-12-05T22:00:00Z", end: "2026-12-06T00:45:00Z" }
freeze_windows:
  - { start: "2026-12-06T00:10:00Z", end: "2026-12-06T01:00:00Z", reason: bank batch }
phases:
  - id: work
    kind: migration
    steps:
      - { id: copy, title: Copy, owner: lead, expected: 1h, action: { kind: manual, instructions: copy } }
      - { id: load, title: Load, owner: lead, expected: ${load}, depends_on: [copy], action: { kind: manual, instructions: load } }
  - id: on
    kind: interface_switch_on
    steps:
      - { id: enable, title: Enable, owner: lead, expected: 20m, action: { kind: manual, instructions: enable } }
`;

function runbook(source: string): Runbook {
  const parsed = parseRunbook(source, 'wf.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.runbook;
}

/** A rehearsal that measured these durations (ms). */
function measured(n: number, durations: Record<string, number>): TimedRun {
  const t0 = Date.parse('2026-11-01T00:00:00Z') - n * 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: `wf-${n}`,
    number: n,
    mode: 'rehearsal',
    status: 'completed',
    runbookVersion: '1',
    versionHash: 'v1',
    startedBy: 'alice',
    createdAt: iso(t0),
    startedAt: iso(t0),
    endedAt: iso(t0 + 4 * 3_600_000),
    outcome: null,
    backoutTrigger: null,
    backoutStartedAt: null,
    backoutEndedAt: null,
    steps: Object.entries(durations).map(([stepId, ms]) => ({
      stepId,
      phaseId: stepId === 'enable' ? 'on' : 'work',
      purpose: 'forward' as const,
      attempts: 1,
      status: 'succeeded',
      treatment: 'run' as const,
      startedAt: iso(t0),
      endedAt: iso(t0 + ms),
      durationMs: ms,
      plannedDurationMs: null,
    })),
  };
}

describe('windowFit', () => {
  it('names a switch-on step the freeze holds back past the change window, and no step that fits', () => {
    // copy 1h, load 30m (longer at the plan's P90): enable waits for the freeze to end (01:00), then ends after 00:45.
    const fit = windowFit({ runbook: runbook(text('30m')), versionHash: 'v1', runs: [] });
    expect(fit.window).toEqual({ source: 'change_window', startMs: 0, endMs: 165 * MIN });
    expect(fit.misses.map((m) => [m.stepId, m.kind])).toEqual([['enable', 'late']]);
    // The freeze held it back: it starts when the freeze ends, so it does not run into it.
    expect(fit.misses[0]!.p90StartMs).toBe(180 * MIN);
  });

  it('names a switch-on step that starts before a freeze and runs into it', () => {
    // copy 1h, load 5m: at the plan's P90 enable starts before the freeze (00:10) and is still running in it.
    const fit = windowFit({ runbook: runbook(text('5m')), versionHash: 'v1', runs: [] });
    expect(fit.misses.map((m) => [m.stepId, m.kind])).toEqual([['enable', 'freeze']]);
    const freeze = fit.misses.find((m) => m.kind === 'freeze');
    expect(freeze, JSON.stringify(fit.misses)).toMatchObject({
      stepId: 'enable',
      freeze: { startMs: 130 * MIN, endMs: 180 * MIN, reason: 'bank batch' },
    });
    expect(freeze!.p90StartMs).toBeLessThan(130 * MIN);
    expect(freeze!.p90EndMs).toBeGreaterThan(130 * MIN);
  });

  it('takes the measured durations: a load the plan says fits but the rehearsals took 2h ends after the change window', () => {
    const rb = runbook(text('20m'));
    const fromPlan = windowFit({ runbook: rb, versionHash: 'v1', runs: [] });
    expect(fromPlan.misses.filter((m) => m.stepId === 'load')).toEqual([]);
    const runs = [1, 2, 3, 4, 5].map((n) => measured(n, { copy: 60 * MIN + n * MIN, load: 120 * MIN + n * MIN, enable: 20 * MIN }));
    const fromRuns = windowFit({ runbook: rb, versionHash: 'v1', runs });
    expect(fromRuns.runs).toBe(5);
    const load = fromRuns.misses.find((m) => m.stepId === 'load');
    expect(load, JSON.stringify(fromRuns.misses)).toMatchObject({ kind: 'late' });
    expect(load!.p90EndMs).toBeGreaterThan(180 * MIN);
  });
});

describe('cutover doctor RUNBOOK', () => {
  it('says which steps fall outside the change window or into a freeze, with the times', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-windows-'));
    writeFileSync(path.join(dir, 'wf.yaml'), text('5m'));
    const result = runCli(['doctor', 'wf.yaml'], cliEnv(), dir);
    const lines = result.stdout.split('\n').filter((line) => line.includes('windows wf.yaml'));
    expect(lines[0]).toMatch(
      /^warn +windows wf\.yaml +at the forecast's P90 from the plan \(no recorded runs\), 1 step would fall outside the change window or into an interface freeze$/,
    );
    expect(result.stdout).toMatch(
      /warn +windows wf\.yaml +on\/enable runs from 2026-12-0[56] \d\d:\d\dZ to 2026-12-06 00:[1-5]\dZ, into the interface freeze from 2026-12-06 00:10Z to 2026-12-06 01:00Z \(bank batch\); give it a not_before after the freeze/,
    );
    expect(lines).toHaveLength(2);
    expect(result.code, result.stderr).toBe(0);
  });
});
