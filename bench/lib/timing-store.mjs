// Recorded rehearsals for the timing benchmarks (`forecast`, and the live re-forecast of `web`): a runbook of parallel
// streams, and finished rehearsals of it written through the record store's own writes, with durations drawn
// lognormal around the plan (DRAWS).
import { dependencies } from './bare-timing.mjs';

/**
 * How the rehearsals' step durations are drawn: lognormal around the plan, forward e^(0.1 ± 0.3·N) of it, an undo
 * 0.3 of it times e^(±0.3·N). The bare forecast (forecast.mjs) simulates from the same.
 */
export const DRAWS = { shift: 0.1, sigma: 0.3, undoShare: 0.3, undoSigma: 0.3 };

/**
 * A `steps`-step runbook of 10 parallel streams in 2 phases (each step after the one 10 before it, the second phase
 * after the first), as YAML, and as the bare forecast's step list: each step's dependencies (by index, the phase
 * barrier included) and the distributions its rehearsals are drawn from.
 */
export function timingRunbook(steps, name = 'bench-timing') {
  const perPhase = steps / 2;
  const streams = 10;
  const phases = ['prep', 'move'].map((id) => ({
    id,
    kind: id === 'prep' ? 'preparation' : 'migration',
    steps: Array.from({ length: perPhase }, (_, i) => ({
      id: `${id}-${i}`,
      title: `Step ${i} of ${id}`,
      expectedMinutes: 5 + (i % streams),
      depends_on: i >= streams ? [`${id}-${i - streams}`] : [],
    })),
  }));
  const lines = [`name: ${name}`, 'version: 1', 'lead: lead', 'roles: { lead: [alice] }', 'phases:'];
  for (const phase of phases) {
    lines.push(`  - id: ${phase.id}`, `    kind: ${phase.kind}`, '    steps:');
    for (const step of phase.steps) {
      const dep = step.depends_on.length > 0 ? `, depends_on: [${step.depends_on.join(', ')}]` : '';
      lines.push(
        `      - { id: ${step.id}, title: ${step.title}, owner: lead, expected: ${step.expectedMinutes}m${dep}, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }`,
      );
    }
  }
  const deps = dependencies({ phases });
  const all = phases.flatMap((p) => p.steps);
  const index = new Map(all.map((s, i) => [s.id, i]));
  const bareSteps = all.map((step) => {
    const plannedMs = step.expectedMinutes * 60_000;
    return {
      deps: deps.get(step.id).map((d) => index.get(d)),
      mu: Math.log(plannedMs) + DRAWS.shift,
      sigma: DRAWS.sigma,
      undoMu: Math.log(plannedMs * DRAWS.undoShare),
      undoSigma: DRAWS.undoSigma,
    };
  });
  return { name, text: `${lines.join('\n')}\n`, streams, bareSteps };
}

/**
 * `runs` finished rehearsals of the timing runbook, each with every step attempt recorded through the store's own
 * writes, a tenth of them backed out with their undos recorded.
 */
export async function recordRehearsals(c, databaseUrl, { name, text, streams }, runs, seed) {
  const { openRecordStore, parseRunbook, hashRunbook, initialRunState, SeededRandom } = c;
  const parsed = parseRunbook(text, 'bench.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  const runbook = parsed.runbook;
  const hash = hashRunbook(runbook);
  const rng = new SeededRandom(seed);
  const store = await openRecordStore({ databaseUrl });
  const iso = (ms) => new Date(ms).toISOString();
  let firstRun;
  let lastRun;
  try {
    for (let r = 0; r < runs; r += 1) {
      const { runId } = await store.reserveRun({
        runbookName: name,
        mode: 'rehearsal',
        runbookVersion: '1',
        versionHash: hash,
        runbookSource: text,
        startedBy: 'alice',
      });
      firstRun ??= runId;
      lastRun = runId;
      const t0 = Date.parse('2026-01-01T20:00:00Z') + r * 86_400_000;
      await store.markRunStarted(runId, { startedAt: iso(t0) });
      const state = initialRunState({ runId, runbook, versionHash: hash, mode: 'rehearsal', startedBy: 'alice' }, iso(t0));
      const end = new Map();
      const rows = [];
      let last = t0;
      for (const id of state.order) {
        const step = state.steps[id];
        const start = Math.max(t0, ...step.dependsOn.map((d) => end.get(d)));
        const ms = step.plannedDurationMs * Math.exp(DRAWS.shift + DRAWS.sigma * rng.normal());
        end.set(id, start + ms);
        last = Math.max(last, start + ms);
        step.status = 'succeeded';
        step.attempts = 1;
        step.startedAt = iso(start);
        step.endedAt = iso(start + ms);
        rows.push(attemptRow(runId, step, 'forward', iso(start), iso(start + ms)));
      }
      const backsOut = r % 10 === 9;
      if (backsOut) {
        const backoutStart = last;
        let at = backoutStart;
        for (const id of [...state.order].reverse()) {
          const step = state.steps[id];
          const ms = step.plannedDurationMs * DRAWS.undoShare * Math.exp(DRAWS.undoSigma * rng.normal());
          rows.push(attemptRow(runId, step, 'backout', iso(at), iso(at + ms)));
          at += ms / streams;
        }
        state.backout = {
          status: 'completed',
          trigger: 'requested',
          reason: 'rehearsing back-out',
          requestedBy: 'alice',
          startedAt: iso(backoutStart),
          endedAt: iso(at),
        };
        last = at;
      }
      // Ten at a time, as a run's activities write them.
      for (let i = 0; i < rows.length; i += 10) await Promise.all(rows.slice(i, i + 10).map((row) => store.recordStepAttempt(row)));
      state.status = backsOut ? 'backed_out' : 'completed';
      state.endedAt = iso(last);
      state.outcome = backsOut ? 'backed out: rehearsing back-out' : 'every step done';
      await store.finishRun(runId, { status: state.status, outcome: state.outcome, endedAt: state.endedAt, state });
    }
  } finally {
    await store.close();
  }
  return { firstRun, lastRun };
}

function attemptRow(runId, step, purpose, startedAt, endedAt) {
  return {
    runId,
    stepId: step.id,
    phaseId: step.phaseId,
    title: step.title,
    owner: step.owner,
    kind: step.kind,
    purpose,
    attempt: 1,
    treatment: 'run',
    status: 'succeeded',
    plannedStartMs: step.plannedStartMs,
    plannedDurationMs: step.plannedDurationMs,
    startedAt,
    endedAt,
    idempotencyKey: `${runId}/${step.id}${purpose === 'backout' ? '/backout' : ''}`,
  };
}
