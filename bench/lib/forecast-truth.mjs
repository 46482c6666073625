// Ground truth for the forecast's calibration (`npm run bench -- forecast` and test/forecast-calibration.test.ts):
// runbooks whose step durations follow known, skewed distributions, rehearsals recorded from them, and real nights
// simulated from them. Not a benchmark of its own; it prints nothing.
//
// A runbook: a preparation and a migration phase of 2-5 parallel streams each (chains of 2-6 steps), a go/no-go gate,
// and an interface switch-on phase of 2-4 steps in parallel. Each step's true duration is lognormal (median around
// 15 minutes, spread from one runbook to the next; σ of its log from 0.1 to 0.6) with occasional outliers (3%: the
// step takes 2 to 5 times as long). Its plan (`expected`) is its true median missed the way plans are: 10% short on
// the median, off by a factor of e^0.3 either way. Most preparation and migration steps have an undo, with its own
// lognormal and outliers. Of the 5 rehearsals of each runbook, 2 back out at the go/no-go: their switch-on steps
// never run and every undo runs, in reverse dependency order.
//
// `modules` are cutover's own: from dist/ in the benchmark, from the sources in the test.

const MIN = 60_000;

/**
 * Builds `count` ground-truth runbooks and, for each, its forecast and how real nights went.
 * @returns per runbook: P90 coverage of the nights, the true and forecast P90 back-out, and whether the latest safe
 *   go/no-go left at least the true P90 back-out before the window's end.
 */
export function calibrate({ count, rehearsals = 5, backedOut = 2, nights = 1000, simulations, seed }, modules) {
  const { SeededRandom, parseRunbook, forecast } = modules;
  const rng = new SeededRandom(seed);
  const results = [];
  for (let r = 0; r < count; r += 1) {
    const truth = groundTruth(rng, `truth-${r}`, parseRunbook);
    const runs = [];
    // Newest first, as the record store lists them; the latest `backedOut` rehearsals backed out.
    for (let k = 0; k < rehearsals; k += 1) runs.push(rehearse(truth, rng, k, k < backedOut));
    const windowMs = truth.plannedMs * 1.5;
    const result = forecast({
      runbook: truth.runbook,
      versionHash: 'v1',
      runs,
      window: { lengthMs: windowMs },
      seed: seed + r,
      ...(simulations ? { simulations } : {}),
    });
    let covered = 0;
    for (let i = 0; i < nights; i += 1) if (night(truth, rng) <= result.p90Ms) covered += 1;
    const backouts = [];
    for (let i = 0; i < nights; i += 1) backouts.push(backout(truth, rng));
    backouts.sort((a, b) => a - b);
    const trueBackoutP90 = backouts[Math.floor(0.9 * (nights - 1))];
    const leftForBackout = windowMs - result.window.latestSafeGoNoGoMs;
    results.push({
      steps: truth.ids.length,
      coverage: covered / nights,
      trueBackoutP90,
      forecastBackoutP90: result.backout.p90Ms,
      safe: leftForBackout >= trueBackoutP90,
    });
  }
  return results;
}

/** A runbook with parallel streams, and its true distributions. */
export function groundTruth(rng, name, parseRunbook) {
  const lines = [`name: ${name}`, 'version: 1', 'lead: lead', 'roles: { lead: [alice] }', 'phases:'];
  const truth = new Map();
  const scale = Math.log(15 * MIN) + 0.5 * normal(rng);
  const addStep = (phaseLines, id, deps, undo) => {
    const sigma = 0.1 + 0.5 * rng.uniform();
    const mu = scale + 0.7 * normal(rng);
    const plannedS = Math.max(1, Math.round(Math.exp(mu - 0.1 + 0.3 * normal(rng)) / 1000));
    const step = { mu, sigma, undo: undo ? { mu: mu + Math.log(0.3 + 0.5 * rng.uniform()), sigma: 0.1 + 0.4 * rng.uniform() } : undefined };
    truth.set(id, step);
    phaseLines.push(
      `      - { id: ${id}, title: Step ${id}, owner: lead, expected: ${plannedS}s${deps.length ? `, depends_on: [${deps.join(', ')}]` : ''}, action: { kind: shell, command: "true" }${undo ? ', backout: { kind: shell, command: "true" }' : ''} }`,
    );
  };
  for (const [phase, kind] of [
    ['prep', 'preparation'],
    ['move', 'migration'],
  ]) {
    lines.push(`  - id: ${phase}`, `    kind: ${kind}`, '    steps:');
    const streams = 2 + Math.floor(rng.uniform() * 4);
    for (let s = 0; s < streams; s += 1) {
      const length = 2 + Math.floor(rng.uniform() * 5);
      for (let i = 0; i < length; i += 1)
        addStep(lines, `${phase}-${s}-${i}`, i > 0 ? [`${phase}-${s}-${i - 1}`] : [], rng.uniform() < 0.7);
    }
  }
  lines.push('  - id: decide', '    kind: go_no_go', '    steps:');
  lines.push('      - { id: go, title: Go or no-go, owner: lead, expected: 10m, gate: { approvers: [lead] } }');
  truth.set('go', { mu: Math.log(10 * MIN), sigma: 0.5 });
  lines.push('  - id: switch', '    kind: interface_switch_on', '    steps:');
  const switches = 2 + Math.floor(rng.uniform() * 3);
  for (let i = 0; i < switches; i += 1) addStep(lines, `switch-${i}`, [], false);
  const parsed = parseRunbook(`${lines.join('\n')}\n`, `${name}.yaml`);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.slice(0, 3)));
  const runbook = parsed.runbook;
  const ids = runbook.phases.flatMap((p) => p.steps.map((s) => s.id));
  const phaseOf = new Map(runbook.phases.flatMap((p) => p.steps.map((s) => [s.id, p.id])));
  // Effective dependencies (explicit plus the phase barrier: every step of a phase waits for the previous phase).
  const deps = new Map();
  let previous = [];
  for (const phase of runbook.phases) {
    for (const step of phase.steps) deps.set(step.id, [...step.depends_on, ...previous]);
    previous = phase.steps.map((s) => s.id);
  }
  const planned = new Map(ids.map((id) => [id, durationOf(runbook, id)]));
  const plannedMs = longest(ids, deps, (id) => planned.get(id));
  return { runbook, ids, deps, truth, phaseOf, plannedMs };
}

function durationOf(runbook, id) {
  const step = runbook.phases.flatMap((p) => p.steps).find((s) => s.id === id);
  const m = /^(\d+)(s|m)$/.exec(step.expected);
  return Number(m[1]) * (m[2] === 'm' ? MIN : 1000);
}

function normal(rng) {
  return rng.normal();
}

/** A true duration: lognormal, and 3% of the time 2 to 5 times that. */
function draw(rng, { mu, sigma }) {
  const d = Math.exp(mu + sigma * rng.normal());
  return rng.uniform() < 0.03 ? d * Math.exp(Math.log(2) + rng.uniform() * Math.log(2.5)) : d;
}

function longest(ids, deps, durationOf) {
  const end = new Map();
  let total = 0;
  for (const id of ids) {
    const start = Math.max(0, ...deps.get(id).map((d) => end.get(d)));
    end.set(id, start + durationOf(id));
    total = Math.max(total, end.get(id));
  }
  return total;
}

/** A real night: every step, the true durations. */
export function night(truth, rng) {
  return longest(truth.ids, truth.deps, (id) => draw(rng, truth.truth.get(id)));
}

/** A real back-out of everything: undos in reverse dependency order. */
export function backout(truth, rng) {
  const dependents = new Map(truth.ids.map((id) => [id, []]));
  for (const id of truth.ids) for (const d of truth.deps.get(id)) dependents.get(d).push(id);
  const end = new Map();
  let total = 0;
  for (const id of [...truth.ids].reverse()) {
    const start = Math.max(0, ...dependents.get(id).map((d) => end.get(d)));
    const undo = truth.truth.get(id).undo;
    end.set(id, start + (undo ? draw(rng, undo) : 0));
    total = Math.max(total, end.get(id));
  }
  return total;
}

/** A recorded rehearsal (as the record store gives it back): `age` runs ago; backing out at the go/no-go. */
export function rehearse(truth, rng, age, backsOut) {
  const t0 = Date.parse('2026-10-01T20:00:00Z') + (10 - age) * 86_400_000;
  const iso = (ms) => new Date(t0 + ms).toISOString();
  const end = new Map();
  const steps = [];
  let last = 0;
  for (const id of truth.ids) {
    if (backsOut && truth.phaseOf.get(id) === 'switch') continue;
    const start = Math.max(0, ...truth.deps.get(id).map((d) => end.get(d)));
    const d = draw(rng, truth.truth.get(id));
    end.set(id, start + d);
    last = Math.max(last, start + d);
    steps.push(timed(id, truth.phaseOf.get(id), 'forward', iso(start), iso(start + d), d));
  }
  let backoutStart = null;
  let backoutEnd = null;
  if (backsOut) {
    backoutStart = last;
    const dependents = new Map(truth.ids.map((id) => [id, []]));
    for (const id of truth.ids) for (const d of truth.deps.get(id)) dependents.get(d).push(id);
    const undoEnd = new Map();
    for (const id of [...truth.ids].reverse()) {
      const start = Math.max(backoutStart, ...dependents.get(id).map((d) => undoEnd.get(d) ?? backoutStart));
      const undo = truth.truth.get(id).undo;
      if (!undo || !end.has(id)) {
        undoEnd.set(id, start);
        continue;
      }
      const d = draw(rng, undo);
      undoEnd.set(id, start + d);
      steps.push(timed(id, truth.phaseOf.get(id), 'backout', iso(start), iso(start + d), d));
      last = Math.max(last, start + d);
    }
    backoutEnd = last;
  }
  return {
    id: `${truth.runbook.name}-${5 - age}`,
    number: 5 - age,
    mode: 'rehearsal',
    status: backsOut ? 'backed_out' : 'completed',
    runbookVersion: '1',
    versionHash: 'v1',
    startedBy: 'alice',
    createdAt: iso(0),
    startedAt: iso(0),
    endedAt: iso(last),
    outcome: null,
    backoutTrigger: backsOut ? 'gate_rejected' : null,
    backoutStartedAt: backoutStart === null ? null : iso(backoutStart),
    backoutEndedAt: backoutEnd === null ? null : iso(backoutEnd),
    steps,
  };
}

function timed(stepId, phaseId, purpose, startedAt, endedAt, durationMs) {
  return {
    stepId,
    phaseId,
    purpose,
    attempts: 1,
    status: 'succeeded',
    treatment: 'run',
    startedAt,
    endedAt,
    durationMs: Math.round(durationMs),
    plannedDurationMs: null,
  };
}
