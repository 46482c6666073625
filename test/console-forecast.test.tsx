/**
 * What the console adds from the runbook and its recorded runs: the live re-forecast under the clock (the screen
 * still fits 80x24), and in a step's details its manual instructions, its notes and its phase's title, which the run
 * state does not carry.
 */
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsoleScreen } from '../cli/console/ConsoleScreen.js';
import { detailLines } from '../cli/console/StepDetails.js';
import type { RunView } from '../cli/console/run-poller.js';
import { runbookTexts, type RunContext } from '../present/run-view.js';
import { parseRunbook } from '../runbook/parse.js';
import { summarizeRun } from '../run/pages.js';
import type { RunState } from '../run/state.js';
import { initialRunState } from '../run/transitions.js';
import { liveForecast, liveModel } from '../timing/live-forecast.js';

const parsed = parseRunbook(
  `
name: crm-night
version: 3
description: The CRM go-live of December
lead: lead
roles: { lead: [alice], dba: [bob], comms: [erin] }
window: { length: 2h }
phases:
  - id: load
    kind: migration
    title: Move the customers across
    steps:
      - { id: freeze, title: Freeze the legacy CRM, owner: dba, expected: 5m, notes: "Ask the service desk first", action: { kind: shell, command: "true" }, backout: { kind: manual, instructions: "Set the CRM back to read-write in its admin page" } }
      - { id: customers, title: Migrate customers, owner: dba, expected: 10m, depends_on: [freeze], action: { kind: shell, command: "true" } }
      - { id: announce, title: Tell users, owner: comms, expected: 2m, depends_on: [customers], action: { kind: manual, instructions: "Post the banner on the intranet" } }
`,
  'crm-night.yaml',
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const runbook = parsed.runbook;
const start = '2026-12-05T22:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
const context: RunContext = { roles: runbook.roles, lead: runbook.lead, texts: runbookTexts(runbook) };

function running(): RunState {
  const state = initialRunState({ runId: 'crm-night-7', runbook, versionHash: 'h', mode: 'rehearsal', startedBy: 'alice' }, start);
  Object.assign(state.steps.freeze!, { status: 'succeeded', attempts: 1, startedAt: at(0), endedAt: at(5) });
  Object.assign(state.steps.customers!, { status: 'running', attempts: 1, startedAt: at(5) });
  return state;
}

function viewOf(state: RunState): RunView {
  const { attention, ...head } = summarizeRun(state, 1);
  return { head, steps: state.order.map((id) => state.steps[id]), attention, connection: 'live', changedAt: 0 };
}

afterEach(() => cleanup());

describe('the live re-forecast in the console', () => {
  it('shows when the run will finish under the clock, and still fits 80x24', () => {
    const state = running();
    const now = Date.parse(at(8));
    const forecast = liveForecast(liveModel({ runbook, versionHash: 'h', runs: [] }), state, now);
    const ui = render(
      <ConsoleScreen
        view={viewOf(state)}
        context={context}
        now={now}
        width={80}
        height={24}
        onAction={vi.fn()}
        onQuit={vi.fn()}
        forecast={forecast}
      />,
    );
    const lines = (ui.lastFrame() ?? '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toMatch(/^forecast: finish 22:\d\d UTC \(P50, in \d+m\d\ds\) to 22:\d\d UTC \(P90/);
    // The freeze, done, has an undo: a back-out now would have one step to undo.
    expect(forecast.backoutNow.steps).toBe(1);
  });
});

describe('a step opened in the console', () => {
  it('shows its instructions, its notes, its manual undo and its phase’s title from the runbook', () => {
    const state = running();
    const freeze = detailLines(state.steps.freeze!, context, false, Date.parse(at(8)));
    expect(freeze).toContain('notes: Ask the service desk first');
    expect(freeze).toContain('undo by hand: Set the CRM back to read-write in its admin page');
    expect(freeze[1]).toMatch(/^phase load — Move the customers across \(migration\)/);
    const announce = detailLines(state.steps.announce!, context, false, Date.parse(at(8)));
    expect(announce).toContain('instructions: Post the banner on the intranet');
  });
});
