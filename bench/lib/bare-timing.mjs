// The baselines of `npm run bench -- forecast`: what `cutover history`, `compare` and `forecast` answer, written as the
// smallest plain programs that do the same work. No cutover code: better-sqlite3 queries on the same record store file
// (opened and closed each time, as the commands open and close the store), the `yaml` package for a recorded runbook,
// plain loops. They run in the benchmark's process beside cutover's own code, so a slower machine slows both.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const YAML = require('yaml');

const span = (start, end) => (start && end ? Date.parse(end) - Date.parse(start) : null);
const open = (file) => new Database(file, { readonly: true, fileMustExist: true });

/** `history`: the runbook's runs, newest first, each with its duration, status and back-out. */
export function bareHistory(file, runbookName) {
  const db = open(file);
  try {
    return db
      .prepare(
        'SELECT id, number, mode, status, runbookVersion, versionHash, startedAt, endedAt, outcome, backoutTrigger, ' +
          'backoutStartedAt, backoutEndedAt, startedBy FROM Run WHERE runbookName = ? ORDER BY createdAt DESC, number DESC',
      )
      .all(runbookName)
      .map((r) => ({
        runId: r.id,
        number: r.number,
        mode: r.mode,
        status: r.status,
        startedAt: r.startedAt,
        durationMs: span(r.startedAt, r.endedAt),
        outcome: r.outcome,
        backedOut: r.backoutStartedAt !== null,
        backoutMs: span(r.backoutStartedAt, r.backoutEndedAt),
        ledBy: r.startedBy,
      }));
  } finally {
    db.close();
  }
}

/**
 * `compare A B`: per step and phase both runs' times and the difference, steps added and removed, both runs' actual
 * critical paths, the steps that got slower most. Each run's plan and graph from the runbook recorded with it.
 */
export function bareCompare(file, runA, runB) {
  const db = open(file);
  try {
    const runRow = db.prepare('SELECT id, startedAt, endedAt, runbookSource FROM Run WHERE id = ?');
    const stepRows = db.prepare('SELECT stepId, phaseId, purpose, attempt, startedAt, endedAt FROM StepRun WHERE runId = ? ORDER BY id');
    const load = (id) => {
      const run = runRow.get(id);
      const runbook = YAML.parse(run.runbookSource);
      // Each step's attempts going forward, folded: the first start, the last attempt's end.
      const times = new Map();
      for (const row of stepRows.all(id)) {
        if (row.purpose !== 'forward') continue;
        const seen = times.get(row.stepId);
        if (!seen) times.set(row.stepId, { phaseId: row.phaseId, attempt: row.attempt, start: row.startedAt, end: row.endedAt });
        else {
          if (row.startedAt && (!seen.start || row.startedAt < seen.start)) seen.start = row.startedAt;
          if (row.attempt >= seen.attempt) Object.assign(seen, { attempt: row.attempt, end: row.endedAt });
        }
      }
      const steps = new Map();
      for (const phase of runbook.phases) for (const step of phase.steps) steps.set(step.id, { phaseId: phase.id, step });
      return { run, runbook, times, steps };
    };
    const a = load(runA);
    const b = load(runB);
    const ms = (side, id) => {
      const t = side.times.get(id);
      return t ? span(t.start, t.end) : null;
    };
    const steps = [];
    for (const [id, { phaseId, step }] of b.steps) {
      const aMs = ms(a, id);
      const bMs = ms(b, id);
      steps.push({
        id,
        phaseId,
        title: step.title,
        added: !a.steps.has(id),
        aMs,
        bMs,
        deltaMs: aMs === null || bMs === null ? null : bMs - aMs,
      });
    }
    for (const [id, { phaseId, step }] of a.steps) if (!b.steps.has(id)) steps.push({ id, phaseId, title: step.title, removed: true });
    const phases = (side) => {
      const bounds = new Map();
      for (const t of side.times.values()) {
        const seen = bounds.get(t.phaseId) ?? { start: t.start, end: t.end };
        if (t.start < seen.start) seen.start = t.start;
        if (t.end > seen.end) seen.end = t.end;
        bounds.set(t.phaseId, seen);
      }
      return new Map([...bounds].map(([id, x]) => [id, span(x.start, x.end)]));
    };
    const phasesA = phases(a);
    const phasesB = phases(b);
    return {
      totalDeltaMs: span(b.run.startedAt, b.run.endedAt) - span(a.run.startedAt, a.run.endedAt),
      phases: b.runbook.phases.map((p) => ({ id: p.id, aMs: phasesA.get(p.id) ?? null, bMs: phasesB.get(p.id) ?? null })),
      steps,
      criticalPath: { a: criticalPath(a), b: criticalPath(b) },
      slower: steps
        .filter((s) => s.deltaMs > 0)
        .sort((x, y) => y.deltaMs - x.deltaMs)
        .slice(0, 10),
    };
  } finally {
    db.close();
  }
}

/** From the step that ended last, back through the dependency (or the previous phase's step) that ended last. */
function criticalPath({ runbook, times }) {
  const ended = new Map([...times].map(([id, t]) => [id, Date.parse(t.end)]));
  const deps = dependencies(runbook);
  let at = [...ended].reduce((last, entry) => (!last || entry[1] >= last[1] ? entry : last), undefined)?.[0];
  const path = [];
  while (at !== undefined) {
    path.push(at);
    at = deps.get(at).reduce((best, d) => (ended.has(d) && (best === undefined || ended.get(d) > ended.get(best)) ? d : best), undefined);
  }
  return path.reverse();
}

/** Each step's `depends_on`, plus the steps of the previous phase that no step of that phase depends on. */
export function dependencies(runbook) {
  const deps = new Map();
  let sinks = [];
  for (const phase of runbook.phases) {
    const dependedOn = new Set(phase.steps.flatMap((s) => s.depends_on ?? []));
    for (const step of phase.steps) deps.set(step.id, [...new Set([...(step.depends_on ?? []), ...sinks])]);
    sinks = phase.steps.filter((s) => !dependedOn.has(s.id)).map((s) => s.id);
  }
  return deps;
}

/** A standard normal draw (the polar Box–Muller method). */
function normal() {
  let u;
  let v;
  let s;
  do {
    u = 2 * Math.random() - 1;
    v = 2 * Math.random() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s === 0);
  return u * Math.sqrt((-2 * Math.log(s)) / s);
}

/**
 * `forecast`: `nights` simulated nights over the step graph (`steps` in an order where dependencies come first, each
 * `{ deps: [indices], mu, sigma, undoMu, undoSigma }`, lognormal durations), and as many back-outs in reverse
 * dependency order; their P50 and P90.
 */
export function bareForecast(steps, nights) {
  const n = steps.length;
  const end = new Float64Array(n);
  const quantiles = (totals) => {
    totals.sort();
    return { p50: totals[Math.floor(0.5 * (nights - 1))], p90: totals[Math.floor(0.9 * (nights - 1))] };
  };
  const forward = new Float64Array(nights);
  for (let s = 0; s < nights; s += 1) {
    let total = 0;
    for (let i = 0; i < n; i += 1) {
      let start = 0;
      for (const d of steps[i].deps) if (end[d] > start) start = end[d];
      end[i] = start + Math.exp(steps[i].mu + steps[i].sigma * normal());
      if (end[i] > total) total = end[i];
    }
    forward[s] = total;
  }
  const dependents = steps.map(() => []);
  steps.forEach((step, i) => step.deps.forEach((d) => dependents[d].push(i)));
  const backout = new Float64Array(nights);
  for (let s = 0; s < nights; s += 1) {
    let total = 0;
    for (let i = n - 1; i >= 0; i -= 1) {
      let start = 0;
      for (const d of dependents[i]) if (end[d] > start) start = end[d];
      end[i] = start + Math.exp(steps[i].undoMu + steps[i].undoSigma * normal());
      if (end[i] > total) total = end[i];
    }
    backout[s] = total;
  }
  return { forward: quantiles(forward), backout: quantiles(backout) };
}
