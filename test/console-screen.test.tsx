/**
 * The console's screens, as a person sees them, in every state a run goes through; and the keys
 * that act (what each sends, that nothing is sent twice, that refusals are shown).
 */
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { ActionOutcome, ConsoleAction } from '../cli/console/actions.js';
import { ConsoleScreen } from '../cli/console/ConsoleScreen.js';
import { useUndelivered } from '../cli/console/use-undelivered.js';
import { Text } from 'ink';
import type { RunView } from '../cli/console/run-poller.js';
import { parseRunbook } from '../runbook/parse.js';
import type { RunContext } from '../present/run-view.js';
import { summarizeRun } from '../run/pages.js';
import type { RunState } from '../run/state.js';
import { initialRunState } from '../run/transitions.js';
import {
  applyIncident,
  configTimes,
  raiseMarkers,
  reviewExitGate,
  startHypercare,
  takeReading,
  unmetExitCriteria,
} from '../run/hypercare.js';
import { takeDriftRound } from '../run/hypercare-drift.js';

const parsed = parseRunbook(
  `
name: crm-night
version: 3
lead: lead
roles: { lead: [alice], dba: [bob], comms: [erin], business: [dana] }
window: { length: 2h }
phases:
  - id: load
    kind: migration
    steps:
      - { id: freeze, title: Freeze the legacy CRM, owner: dba, expected: 5m, action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: customers, title: Migrate customers, owner: dba, expected: 10m, depends_on: [freeze], action: { kind: shell, command: "true" }, backout: { kind: shell, command: "true" } }
      - { id: notes, title: Migrate notes, owner: dba, expected: 1m, action: { kind: shell, command: "true" } }
      - { id: announce, title: Tell users, owner: comms, expected: 2m, action: { kind: manual, instructions: Call them. } }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go, owner: lead, gate: { approvers: [business], question: "Switch the new CRM on?" } }
`,
  'crm-night.yaml',
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const runbook = parsed.runbook;
const withHypercare = parseRunbook(
  `
name: h
version: 1
lead: lead
roles: { lead: [alice], dba: [bob], comms: [erin] }
connections: { kpi: { driver: sqlite, path: kpi.db } }
phases: [{ id: go, kind: interface_switch_on, steps: [{ id: on, title: On, owner: dba, action: { kind: shell, command: "true" } }] }]
hypercare:
  mttr: { sev1: 1h, sev2: 4h }
  kpis: [{ id: orders, owner: dba, sla: 24h, repeat: 1h, source: { kind: sql, connection: kpi, query: "SELECT 1" } }]
  owners: { interfaces: { on: dba }, systems: { kpi: dba } }
  exit: { approvers: [lead] }
`,
  'h.yaml',
);
if (!withHypercare.ok) throw new Error(JSON.stringify(withHypercare.problems));
const hypercareBook = withHypercare.runbook.hypercare;
const start = '2026-12-05T22:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
const context: RunContext = {
  roles: runbook.roles,
  lead: runbook.lead,
  window: { end: at(120), pointOfNoReturn: at(100), backoutMs: 20 * 60_000 },
};

function fresh(mode: 'rehearsal' | 'live' = 'rehearsal'): RunState {
  return initialRunState({ runId: 'crm-night-7', runbook, versionHash: 'h', mode, startedBy: 'alice' }, start);
}

function viewOf(state: RunState, revision = 1, connection: RunView['connection'] = 'live', problem?: string): RunView {
  const { attention, ...head } = summarizeRun(state, revision);
  return {
    head,
    steps: state.order.map((id) => state.steps[id]),
    attention,
    connection,
    changedAt: 0,
    ...(problem ? { problem } : {}),
  };
}

function gateOpen(state: RunState): RunState {
  Object.assign(state.steps.freeze!, { status: 'succeeded', attempts: 1, startedAt: at(0), endedAt: at(5) });
  Object.assign(state.steps.customers!, { status: 'succeeded', attempts: 1, startedAt: at(5), endedAt: at(14) });
  Object.assign(state.steps.notes!, { status: 'succeeded', attempts: 1, startedAt: at(0), endedAt: at(1) });
  Object.assign(state.steps.announce!, { status: 'succeeded', attempts: 1, startedAt: at(1), endedAt: at(3), completedBy: 'erin' });
  Object.assign(state.steps.go!, {
    status: 'waiting',
    waitingFor: 'approval',
    startedAt: at(15),
    gate: {
      ...state.steps.go!.gate!,
      status: 'open',
      openedAt: at(15),
      closesAt: at(45),
      onDeadline: 'no-go',
      evidence: { digest: 'abc123', at: at(15) },
    },
  });
  state.status = 'waiting';
  return state;
}

function screen(
  view: RunView,
  now = Date.parse(at(20)),
  send?: (a: ConsoleAction) => Promise<ActionOutcome>,
  width = 80,
  runContext: RunContext = context,
  undelivered: readonly string[] = [],
) {
  const onAction = vi.fn(send ?? (async () => ({ ok: true, message: 'sent' })));
  const onQuit = vi.fn();
  const onVisible = vi.fn();
  const ui = render(
    <ConsoleScreen
      view={view}
      context={runContext}
      now={now}
      width={width}
      height={24}
      identity="dana"
      onAction={onAction}
      onVisible={onVisible}
      onQuit={onQuit}
      undelivered={undelivered}
    />,
  );
  lastFrame = ui.lastFrame;
  return { ...ui, onAction, onQuit, onVisible, frame: () => ui.lastFrame() ?? '' };
}

/**
 * Types each key as a person does, giving the screen a moment to answer it (keys that change nothing on screen
 * go on after that moment). What the keys did is asserted with {@link shows} or {@link until}, never after a pause.
 */
async function type(stdin: { write: (s: string) => void }, ...keys: string[]) {
  for (const key of keys) {
    const before = lastFrame?.();
    stdin.write(key);
    for (let waited = 0; waited < 500 && lastFrame?.() === before; waited += 10) await new Promise((r) => setTimeout(r, 10));
  }
}

let lastFrame: (() => string | undefined) | undefined;

/** Waits until `done` holds (a busy machine can take a while), or fails after a generous deadline. */
async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms; the screen shows:\n${lastFrame?.() ?? ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the screen shows `what`, and returns the screen. */
async function shows(what: string | RegExp): Promise<string> {
  const has = () => {
    const frame = lastFrame?.() ?? '';
    return typeof what === 'string' ? frame.includes(what) : what.test(frame);
  };
  await until(has);
  return lastFrame?.() ?? '';
}

afterEach(() => cleanup());

describe('the console screen', () => {
  it('fits 80x24 and says REHEARSAL or LIVE unmistakably', () => {
    const { frame } = screen(viewOf(gateOpen(fresh())));
    const lines = frame().split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[0]).toContain(' REHEARSAL ');
    expect(lines[0]).toContain('crm-night v3 · crm-night-7 · WAITING');
    cleanup();
    const live = screen(viewOf(gateOpen(fresh('live'))));
    expect(live.frame().split('\n')[0]).toMatch(/^ LIVE .*· real systems/);
  });

  it('shows a waiting gate pinned at the top, with who may act and when it closes, and approves it', async () => {
    const { frame, stdin, onAction } = screen(viewOf(gateOpen(fresh())));
    expect(frame()).toContain('WAITING FOR PEOPLE (1)');
    expect(frame()).toContain(
      '⏸ gate go: Switch the new CRM on?\n  each of business (dana) · closes in 25m00s, then no-go · waiting 5m00s',
    );
    expect(frame()).toContain('elapsed 20m00s / plan 15m00s (+5m00s) · window 1h40m left · no return in 1h20m');
    expect(frame()).toContain('a approve · r reject');
    await type(stdin, 'a');
    expect(await shows('approve gate go: Switch the new CRM on?')).toContain('who are you [dana]:');
    await type(stdin, '\r', 'numbers agree', '\r');
    await shows('sent');
    expect(onAction).toHaveBeenCalledTimes(1);
    expect(onAction).toHaveBeenCalledWith({ kind: 'approve', gateId: 'go', as: 'dana', reason: 'numbers agree', evidence: 'abc123' });
  });

  it('keeps what is typed ahead of a prompt: a, who, why and both Enters sent in one burst', async () => {
    const { frame, stdin, onAction } = screen(viewOf(gateOpen(fresh())));
    // As a fast typist or a paste delivers them: each key its own write, none waiting for the screen.
    for (const key of ['a', ...'bob', '\x7f', 'x', '\r', ...'counts ok', '\r']) stdin.write(key);
    await shows('sent');
    expect(onAction).toHaveBeenCalledTimes(1);
    expect(onAction).toHaveBeenCalledWith({ kind: 'approve', gateId: 'go', as: 'box', reason: 'counts ok', evidence: 'abc123' });
    expect(frame()).not.toContain('who are you');
  });

  it('keeps a burst that arrives in one read: a busy machine reads a, who, Enter, why, Enter as one piece', async () => {
    const { frame, stdin, onAction, onQuit } = screen(viewOf(gateOpen(fresh())));
    // A process that was off the CPU while the person typed reads everything typed meanwhile at once.
    stdin.write('adana\rcounts and sample agree\r');
    await until(() => onAction.mock.calls.length > 0);
    expect(onAction).toHaveBeenCalledTimes(1);
    expect(onAction).toHaveBeenCalledWith({
      kind: 'approve',
      gateId: 'go',
      as: 'dana',
      reason: 'counts and sample agree',
      evidence: 'abc123',
    });
    // The list's keys in one piece act one after the other, in order: `?` opens the help, `q` closes it (not the console).
    await until(() => frame().includes('sent'));
    stdin.write('?q');
    stdin.write('jjq');
    await until(() => onQuit.mock.calls.length > 0);
    expect(frame()).not.toContain('Esc back');
  });

  it('keeps keys typed ahead of the find prompt, and Esc typed ahead cancels a form', async () => {
    const { frame, stdin, onAction, onQuit } = screen(viewOf(gateOpen(fresh())));
    for (const key of ['/', ...'quit', '\r']) stdin.write(key);
    // "q" went to the prompt, not to leaving the console; nothing matches, and it says so.
    await shows('no step matches "quit"');
    expect(onQuit).not.toHaveBeenCalled();
    // `b` opens the back-out form (which clears the message), `crm` goes to it, and Esc closes it.
    for (const key of ['b', ...'crm', '\x1b']) stdin.write(key);
    await until(() => !frame().includes('no step matches') && !frame().includes('BACK OUT'));
    expect(frame()).toContain('a approve · r reject');
    expect(onAction).not.toHaveBeenCalled();
  });

  it('needs a reason to reject, and shows the run refusing', async () => {
    const { stdin, onAction } = screen(viewOf(gateOpen(fresh())), undefined, async () => ({
      ok: false,
      message: 'refused: dana already voted on go',
    }));
    await type(stdin, 'r', '\r', '\r');
    await shows('a reason is required');
    expect(onAction).not.toHaveBeenCalled();
    await type(stdin, 'not yet', '\r');
    await shows('refused: dana already voted on go');
    expect(onAction).toHaveBeenCalledWith({ kind: 'reject', gateId: 'go', as: 'dana', reason: 'not yet', evidence: 'abc123' });
  });

  it('sends nothing twice: keys that act wait while a request is in flight', async () => {
    let answer!: (o: ActionOutcome) => void;
    const { frame, stdin, onAction } = screen(
      viewOf(gateOpen(fresh())),
      undefined,
      () => new Promise<ActionOutcome>((resolve) => (answer = resolve)),
    );
    await type(stdin, 'a', '\r', '\r');
    await shows('sending approve go…');
    await type(stdin, 'a', 'r', '\r');
    expect(frame()).toContain('sending approve go… (other requests wait for its answer)');
    answer({ ok: true, message: 'dana approved go: the gate is approved, the run goes on' });
    // Screens are drawn in order: a prompt the keys had opened would show by now.
    await shows('dana approved go');
    expect(frame()).not.toContain('who are you');
    expect(onAction).toHaveBeenCalledTimes(1);
  });

  it('shows running steps with a spinner, planned against actual, and the critical path; focus follows them', async () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, { status: 'succeeded', attempts: 2, startedAt: at(0), endedAt: at(9) });
    Object.assign(state.steps.customers!, { status: 'running', attempts: 1, startedAt: at(9) });
    Object.assign(state.steps.notes!, { status: 'succeeded', attempts: 1, startedAt: at(0), endedAt: at(1) });
    const { frame, stdin } = screen(viewOf(state), Date.parse(at(12)));
    const lines = frame().split('\n');
    expect(lines.find((l) => l.includes('freeze '))).toMatch(/^◆✔ freeze\s+dba \(bob\)\s+succeeded\s+5m00s\s+9m00s\s+×2 4m00s over p/);
    expect(lines.find((l) => l.includes('customers'))).toMatch(/^◆[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] customers\s+dba \(bob\)\s+running\s+10m00s\s+3m00s…/);
    expect(lines.find((l) => l.includes('notes'))).toMatch(/^ ✔ notes/);
    expect(frame()).toContain('elapsed 12m00s / plan 15m00s');
    expect(frame()).toContain('following the running steps');
    // Enter opens the followed step.
    await type(stdin, '\r');
    expect(await shows('customers — Migrate customers  ◆ on the critical path')).toContain('owner dba (bob)');
    await type(stdin, '\u001B');
    await shows('following the running steps');
    await type(stdin, 'k');
    expect(await shows('f follow')).not.toContain('following the running steps');
  });

  it('shows a failed check and its output in the step details', async () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, {
      status: 'failed',
      attempts: 1,
      startedAt: at(0),
      endedAt: at(2),
      error: 'check "writes stopped" failed',
      outputTail: 'locking tables\nERROR: 3 sessions still writing',
      checks: [{ name: 'writes stopped', kind: 'sql', passed: false, detail: 'expected 0, got 3', at: at(2) }],
    });
    state.status = 'failed';
    const { frame, stdin } = screen(viewOf(state), Date.parse(at(3)), undefined, 120);
    expect(frame()).toMatch(/✖ freeze\s+dba \(bob\)\s+failed/);
    expect(frame()).toContain('failed         5m00s    2m00s     check "writes stopped" failed: e');
    await type(stdin, '\r');
    expect(await shows('✖ writes stopped (sql): expected 0, got 3')).toContain('│ ERROR: 3 sessions still writing');
  });

  it('pins a failure waiting for the lead and resolves it (retry or done, reason required)', async () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, {
      status: 'waiting',
      waitingFor: 'resolution',
      attempts: 1,
      startedAt: at(0),
      resolution: { scope: 'forward', error: 'worker vanished mid-action', kind: 'unknown', since: at(4) },
    });
    state.status = 'waiting';
    const { frame, stdin, onAction } = screen(viewOf(state), Date.parse(at(6)));
    expect(frame()).toContain('✖ freeze outcome unknown: worker vanished mid-action; retry or record done\n  lead (alice)');
    expect(frame()).toContain('R resolve');
    await type(stdin, 'R', 'again', '\r');
    await shows('type retry or done');
    await type(stdin, '\u0015', 'retry', '\r', 'alice', '\r', 'it never ran', '\r');
    await until(() => onAction.mock.calls.length > 0);
    expect(onAction).toHaveBeenCalledWith({ kind: 'resolve', stepId: 'freeze', action: 'retry', as: 'alice', reason: 'it never ran' });
  });

  it('marks a manual step done', async () => {
    const state = fresh();
    Object.assign(state.steps.announce!, { status: 'waiting', waitingFor: 'manual', attempts: 1, startedAt: at(1) });
    const { frame, stdin, onAction } = screen(viewOf(state), Date.parse(at(3)));
    expect(frame()).toContain('⏸ manual step announce: Tell users; mark it done\n  comms (erin) · waiting 2m00s');
    await type(stdin, 'd', 'erin', '\r', '\r');
    await shows('sent');
    expect(onAction).toHaveBeenCalledWith({ kind: 'done', stepId: 'announce', as: 'erin' });
    // An answer and its Enter in one piece (typed ahead, or pasted) are taken whole.
    await type(stdin, 'd');
    stdin.write('erin\r');
    stdin.write('told them\r');
    await until(() => onAction.mock.calls.length === 2);
    expect(onAction).toHaveBeenLastCalledWith({ kind: 'done', stepId: 'announce', as: 'erin', reason: 'told them' });
  });

  it('shows who is on a waiting step, and who the rota has on duty now and next', () => {
    const state = fresh();
    const acks = [{ by: 'erin', at: at(2), for: 'manual' as const }];
    Object.assign(state.steps.announce!, { status: 'waiting', waitingFor: 'manual', attempts: 1, startedAt: at(1), acks });
    const shifts = [
      { role: 'comms', person: 'erin', from: 'T', to: 'T+1h' },
      { role: 'comms', person: 'fay', from: 'T+1h', to: 'T+2h' },
    ];
    const { frame } = screen(viewOf(state), Date.parse(at(3)), undefined, 120, { ...context, rota: { shifts } });
    expect(frame()).toContain('ON DUTY comms: erin on duty; next fay from 23:00 UTC');
    expect(frame()).toContain('comms (erin) · on it: erin since 22:02 UTC');
    expect(frame().split('\n').length).toBeLessThanOrEqual(24);
  });

  it('backs out only after the runbook name is typed, with a reason', async () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, { status: 'running', attempts: 1, startedAt: at(0) });
    const { stdin, onAction } = screen(viewOf(state), Date.parse(at(1)));
    await type(stdin, 'b');
    await shows('BACK OUT crm-night-7');
    await type(stdin, 'crm', '\r');
    await shows('that is not crm-night; Esc to cancel');
    await type(stdin, '\u007f', '\u007f', '\u007f', 'crm-night', '\r', 'alice', '\r', '\r');
    await shows('a reason is required');
    await type(stdin, 'numbers are off', '\r');
    await shows('sent');
    expect(onAction).toHaveBeenCalledTimes(1);
    expect(onAction).toHaveBeenCalledWith({ kind: 'backout', as: 'alice', reason: 'numbers are off' });
  });

  it('shows back-out progress while it runs', () => {
    const state = fresh();
    Object.assign(state.steps.freeze!, {
      status: 'succeeded',
      startedAt: at(0),
      endedAt: at(5),
      backout: { status: 'succeeded', attempts: 1, startedAt: at(16), endedAt: at(17) },
    });
    Object.assign(state.steps.customers!, {
      status: 'succeeded',
      startedAt: at(5),
      endedAt: at(15),
      backout: { status: 'running', attempts: 1, startedAt: at(15) },
    });
    state.steps.notes!.backout = { status: 'not_needed', attempts: 0 };
    state.backout = { status: 'running', trigger: 'requested', reason: 'numbers are off', requestedBy: 'alice', requestedAt: at(15) };
    state.status = 'backing_out';
    const { frame } = screen(viewOf(state), Date.parse(at(17)));
    expect(frame()).toContain('BACK-OUT  running · 1/2 undone · undoing customers · the lead requested it: nu…');
    expect(frame()).toMatch(/↩ freeze\s+dba \(bob\)\s+backed out/);
    expect(frame()).toMatch(/customers\s+dba \(bob\)\s+undoing/);
    expect(frame()).toContain('BACKING OUT');
    expect(frame()).not.toContain('b back-out');
  });

  it('shows a finished run, its outcome, and offers no actions', async () => {
    const state = gateOpen(fresh());
    Object.assign(state.steps.go!, { status: 'succeeded', endedAt: at(20), gate: { ...state.steps.go!.gate!, status: 'approved' } });
    Object.assign(state, { status: 'completed', endedAt: at(21), outcome: 'all 5 steps completed' });
    const { frame, stdin, onAction, onQuit } = screen(viewOf(state), Date.parse(at(30)));
    expect(frame()).toContain('COMPLETED');
    expect(frame()).toContain('took 21m00s / plan 15m00s (+6m00s)');
    expect(frame()).toContain('all 5 steps completed');
    expect(frame()).not.toContain('b back-out');
    await type(stdin, 'b');
    await shows('b: the run has ended');
    await type(stdin, 'q');
    await until(() => onQuit.mock.calls.length > 0);
    expect(onAction).not.toHaveBeenCalled();
  });

  it('shows hypercare after go-live: open incidents by owner with the oldest, MTTR against target, KPIs, the exit gate', () => {
    const state = gateOpen(fresh('live'));
    Object.assign(state.steps.go!, { status: 'succeeded', endedAt: at(20), gate: { ...state.steps.go!.gate!, status: 'approved' } });
    const book = { ...runbook, hypercare: hypercareBook };
    const hc = startHypercare(book, at(20));
    const open = (severity: number, owner: string, minute: number) =>
      applyIncident(hc, { action: 'open', by: 'bob', severity, title: 'x', owner }, at(minute));
    applyIncident(hc, { action: 'resolve', by: 'bob', incidentId: open(1, 'dba', 21).id }, at(51));
    open(2, 'dba', 25);
    open(3, 'comms', 40);
    takeReading(book, hc, { kpiId: 'orders', latest: at(0), at: at(30) });
    raiseMarkers(hc, configTimes(book), Date.parse(at(30 + 4 * 60)));
    reviewExitGate(hc, unmetExitCriteria(book, hc, Date.parse(at(30 + 4 * 60))), at(30 + 4 * 60));
    Object.assign(state, { status: 'waiting', hypercare: hc });
    const { frame } = screen(viewOf(state), Date.parse(at(30 + 4 * 60)), undefined, 120);
    expect(frame()).toContain('HYPERCARE for 4h10m · 2 open (dba 1, comms 1); oldest INC-2 sev2 4h05m breached');
    expect(frame()).toContain('MTTR sev1 30m00s/1h00m · KPIs orders fresh');
    expect(frame()).toContain('exit gate shut: sev2 incident INC-2 is open (x)');
  });

  it('shows the parallel run in hypercare: the last round, and its rounds at 0 in a row against the exit', () => {
    const state = gateOpen(fresh('live'));
    Object.assign(state.steps.go!, { status: 'succeeded', endedAt: at(20), gate: { ...state.steps.go!.gate!, status: 'approved' } });
    const reconcile = { id: 'orders', owner: 'dba', source: { connection: 'kpi', table: 'a' }, target: { connection: 'kpi', table: 'b' } };
    const book = { ...runbook, hypercare: { ...hypercareBook!, reconcile: [reconcile as never] } };
    const hc = startHypercare(book, at(20));
    takeDriftRound(book, hc, { reconcileId: 'orders', missing: 2, mismatched: 1, at: at(80) });
    Object.assign(state, { status: 'waiting', hypercare: hc });
    const needs = { ...context, driftRounds: 3 };
    const drifting = screen(viewOf(state), Date.parse(at(90)), undefined, 120, needs);
    expect(drifting.frame()).toContain('PARALLEL RUN orders (dba): round 1 3 rows differ; 0/3 rounds at 0 for the exit');
    drifting.unmount();
    for (const minute of [140, 200, 260]) takeDriftRound(book, hc, { reconcileId: 'orders', at: at(minute) });
    const { frame } = screen(viewOf(state), Date.parse(at(270)), undefined, 80, needs);
    expect(frame()).toContain('PARALLEL RUN orders (dba): round 4 no drift; 3/3 rounds at 0 for the exit (met)');
    // Still within 24 rows with the extra line.
    expect(frame().split('\n').length).toBeLessThanOrEqual(24);
  });

  it('pins the open hypercare exit gate with who may decide it; a and r send what cutover approve|reject RUN hypercare-exit send', async () => {
    const state = gateOpen(fresh('live'));
    Object.assign(state.steps.go!, { status: 'succeeded', endedAt: at(20), gate: { ...state.steps.go!.gate!, status: 'approved' } });
    const book = { ...runbook, hypercare: hypercareBook };
    const hc = startHypercare(book, at(20));
    takeReading(book, hc, { kpiId: 'orders', latest: at(20), at: at(30) });
    reviewExitGate(hc, unmetExitCriteria(book, hc, Date.parse(at(30))), at(30));
    Object.assign(state, { status: 'waiting', hypercare: hc });
    const { frame, stdin, onAction } = screen(viewOf(state), Date.parse(at(40)), undefined, 120);
    expect(frame()).toContain('WAITING FOR PEOPLE (1)');
    expect(frame()).toContain(
      '⏸ gate hypercare-exit: end hypercare? its criteria hold (reject: not yet, hypercare goes on)\n  each of lead (alice) · waiting 10m00s',
    );
    expect(frame()).toContain('a approve · r reject');
    await type(stdin, 'a');
    expect(await shows('approve gate hypercare-exit: end hypercare?')).toContain('who are you [dana]:');
    await type(stdin, '\x7f', '\x7f', '\x7f', '\x7f', 'alice', '\r', 'two quiet weeks', '\r');
    await shows('sent');
    expect(onAction).toHaveBeenLastCalledWith({ kind: 'approve', gateId: 'hypercare-exit', as: 'alice', reason: 'two quiet weeks' });
    // A rejection means "not yet": it needs a reason, as `cutover reject` does.
    await type(stdin, 'r', '\r', '\r');
    await shows('a reason is required');
    await type(stdin, 'month-end close first', '\r');
    await until(() => onAction.mock.calls.length === 2);
    expect(onAction).toHaveBeenLastCalledWith({ kind: 'reject', gateId: 'hypercare-exit', as: 'dana', reason: 'month-end close first' });
  });

  it('says under the header when messages did not reach people, and still fits 80x24 with the gate pinned', () => {
    const failed = ['the gate_opened:go message to dana on mail gave up after 5 attempts', 'the run_started message on hook gave up'];
    const narrow = screen(viewOf(gateOpen(fresh())), undefined, undefined, 80, context, failed)
      .frame()
      .split('\n');
    expect(narrow.length).toBeLessThanOrEqual(23);
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(80);
    expect(narrow.join('\n')).toContain('gate go');
    cleanup();
    const wide = screen(viewOf(gateOpen(fresh())), undefined, undefined, 160, context, failed).frame();
    expect(wide).toContain(
      '! not delivered (2, cutover events crm-night-7): the gate_opened:go message to dana on mail gave up after 5 attempts; …',
    );
  });

  it('reads the messages that did not reach people when it opens and again as they change', async () => {
    let failed: string[] = [];
    const read = vi.fn(async () => failed);
    const Probe = () => <Text>{`undelivered: ${useUndelivered(read, 20).join(' | ') || 'none'}`}</Text>;
    const ui = render(<Probe />);
    lastFrame = ui.lastFrame;
    await shows('undelivered: none');
    failed = ['the go message on hook gave up after 5 attempts'];
    await shows('undelivered: the go message on hook gave up after 5 attempts');
    failed = [];
    await shows('undelivered: none');
    expect(read.mock.calls.length).toBeGreaterThanOrEqual(3);
  });

  it('says when it is reconnecting, and keeps showing what it last read', () => {
    const { frame } = screen(viewOf(gateOpen(fresh()), 1, 'reconnecting', 'connect ECONNREFUSED 127.0.0.1:7233'));
    expect(frame()).toContain('⟳ reconnecting to Temporal, showing what was last read: connect ECONNREFUSED');
    expect(frame()).toContain('○ reconnecting');
    expect(frame()).toContain('gate go');
  });

  it('draws only what fits of a 10,000-step run, and moves through it', async () => {
    const lines = ['name: big', 'version: 1', 'lead: lead', 'roles: { lead: [alice] }', 'phases:'];
    for (let p = 0; p < 10; p += 1) {
      lines.push(`  - id: phase-${p}`, '    kind: migration', '    steps:');
      for (let i = 0; i < 1000; i += 1) {
        lines.push(`      - { id: p${p}-s${i}, title: Batch ${i}, owner: lead, expected: 1s, action: { kind: simulate, duration: 1s } }`);
      }
    }
    const big = parseRunbook(lines.join('\n'), 'big.yaml');
    if (!big.ok) throw new Error('fixture invalid');
    const state = initialRunState({ runId: 'big-1', runbook: big.runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' }, start);
    Object.assign(state.steps['p4-s500']!, { status: 'running', attempts: 1, startedAt: at(0) });
    const { frame, stdin, onVisible } = screen(viewOf(state), Date.parse(at(1)));
    expect(frame().split('\n').length).toBeLessThanOrEqual(23);
    // Focus follows the running step, deep in the run; the reader is asked for the rows on screen only.
    expect(frame()).toMatch(/p4-s500\s+lead \(ali…\s+running/);
    const [from, to] = onVisible.mock.lastCall!;
    expect(to - from).toBeLessThanOrEqual(20);
    expect(from).toBeLessThanOrEqual(4500);
    expect(to).toBeGreaterThan(4500);
    await type(stdin, 'G');
    await shows(/p9-s999\s+lead \(ali…\s+pending/);
    await type(stdin, 'g');
    expect(await shows('── phase-0 (migration)')).toMatch(/p0-s0\s+lead/);
  });

  it('finds a step by id or title, and shows help', async () => {
    const { stdin } = screen(viewOf(fresh()), Date.parse(at(0)));
    await type(stdin, '/', 'users', '\r', '\r');
    await shows('announce — Tell users');
    await type(stdin, '\u001B', '?');
    await shows('request back-out (type the runbook name to confirm; reason required)');
  });
});
