/**
 * The console wired to a run: reads it through {@link useRunState}, keeps the clock, follows the
 * terminal's size, and hands the screen what the runbook adds (who holds each role, the window).
 * Temporal lives behind `source` and `send`; the screen itself stays pure.
 */
import { useInput } from 'ink';
import { useCallback, useMemo } from 'react';
import { driftContext } from '../../present/hypercare-view.js';
import { runbookTexts, type RunContext } from '../../present/run-view.js';
import type { Runbook } from '../../runbook/schema.js';
import { pointOfNoReturn } from '../../run/transitions.js';
import type { ActionOutcome, ConsoleAction } from './actions.js';
import { ConsoleScreen } from './ConsoleScreen.js';
import type { PollerOptions, RunSource } from './run-poller.js';
import { useClock } from './use-clock.js';
import { useLiveForecast } from './use-live-forecast.js';
import type { LiveModel } from '../../timing/live-forecast.js';
import { useRunState } from './use-run-state.js';
import { useTerminalSize } from './use-terminal-size.js';
import { useUndelivered } from './use-undelivered.js';

export interface ConsoleAppProps {
  source: RunSource;
  send: (action: ConsoleAction) => Promise<ActionOutcome>;
  /** The run's runbook, when known: who holds each role, the window. */
  runbook?: Runbook;
  identity?: string;
  poll?: PollerOptions;
  onQuit: () => void;
  /** Ctrl-C: what the command does on an interrupt (a rehearsal stops hosting its run). */
  onInterrupt: () => void;
  /** The runbook's fitted night (from its recorded runs), for the live re-forecast in the header. */
  forecastModel?: LiveModel;
  /** Reads the run's messages that did not reach people (present/delivery-view.ts), when the record store is at hand. */
  undelivered?: () => Promise<string[]>;
}

export function ConsoleApp({ source, send, runbook, identity, poll, onQuit, onInterrupt, forecastModel, undelivered }: ConsoleAppProps) {
  const { view, setVisible } = useRunState(source, poll);
  const { width, height } = useTerminalSize();
  const moving = view.attention.some((s) => s.status === 'running' || s.backout?.status === 'running');
  // A spinner needs a few frames a second; otherwise once a second is enough for the clocks.
  const now = useClock(moving ? 250 : 1000, view.head?.endedAt === undefined);
  const head = view.head;
  const forecast = useLiveForecast(forecastModel, view, now);
  const undeliveredLines = useUndelivered(undelivered);
  const context = useMemo<RunContext>(() => {
    if (!runbook) return {};
    const window = head ? pointOfNoReturn(runbook, head.mode, head.startedAt) : undefined;
    return {
      roles: runbook.roles,
      lead: runbook.lead,
      ...driftContext(runbook),
      texts: runbookTexts(runbook),
      ...(runbook.rota ? { rota: { shifts: runbook.rota, ...(runbook.window?.start ? { windowStart: runbook.window.start } : {}) } } : {}),
      ...(window ? { window: { end: window.windowEnd, pointOfNoReturn: window.at, backoutMs: window.backoutMs } } : {}),
    };
  }, [runbook, head?.mode, head?.startedAt]);
  useInput((input, key) => {
    if (key.ctrl && input === 'c') onInterrupt();
  });
  const onVisible = useCallback((from: number, to: number) => setVisible(from, to), [setVisible]);
  return (
    <ConsoleScreen
      view={view}
      context={context}
      now={Math.max(now, view.changedAt)}
      width={width}
      height={height}
      {...(identity ? { identity } : {})}
      onAction={send}
      onVisible={onVisible}
      onQuit={onQuit}
      {...(forecast ? { forecast } : {})}
      undelivered={undeliveredLines}
    />
  );
}
