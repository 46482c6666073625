/**
 * The console: one run on one screen. Header (mode, clock, window), hypercare after go-live, what waits for people, back-out
 * progress, the steps by phase, one line for the last answer, and the keys that make sense for the
 * selected step. Pure: the run comes in as props, requests go out through `onAction`; it keeps only
 * what the person is doing (selection, a prompt, a request in flight).
 */
import { Box, Text, type Key } from 'ink';
import { useMemo, useRef, useState, type MutableRefObject } from 'react';
import { backoutProgress, runHeader, waitingItems, type RunContext } from '../../present/run-view.js';
import type { StepState } from '../../run/state.js';
import { exitWaitingItem } from '../../present/hypercare-view.js';
import { forecastLine, forecastWords } from '../../present/live-forecast.js';
import type { LiveForecast } from '../../timing/live-forecast.js';
import type { ActionOutcome, ConsoleAction } from './actions.js';
import { Header } from './Header.js';
import { HelpPanel } from './HelpPanel.js';
import { HypercarePanel, hypercarePanelHeight } from './HypercarePanel.js';
import { FormPrompt } from './FormPrompt.js';
import { keyText, Prompt } from './Prompt.js';
import { allowedOn, requestForm, requestLabel, type Allowed, type Form, type FormState } from './request-forms.js';
import type { RunView } from './run-poller.js';
import { StepDetails } from './StepDetails.js';
import { StatusLine, Connecting } from './StatusLine.js';
import { StepList } from './StepList.js';
import { useKeyQueue } from './use-key-queue.js';
import { useRunShape, useStepWindow } from './use-step-window.js';
import { WaitingPanel, waitingPanelHeight } from './WaitingPanel.js';
import { dutyNow } from '../../present/duty-view.js';

export interface ConsoleScreenProps {
  view: RunView;
  context: RunContext;
  now: number;
  width: number;
  height: number;
  /** Who the person is, when known (`--as`, CUTOVER_AS): offered first in the identity prompt. */
  identity?: string;
  onAction: (action: ConsoleAction) => Promise<ActionOutcome>;
  /** The step indexes on screen (`to` exclusive), so the caller reads only those. */
  onVisible?: (from: number, to: number) => void;
  onQuit: () => void;
  /** The live re-forecast of the run, when the runbook's recorded runs could be read. */
  forecast?: LiveForecast;
  /** One sentence per notification message that did not reach people (present/delivery-view.ts). */
  undelivered?: readonly string[];
}

type Mode = 'list' | 'details' | 'help' | 'find';

export function ConsoleScreen({
  view,
  context,
  now,
  width,
  height,
  identity,
  onAction,
  onVisible,
  onQuit,
  forecast,
  undelivered = [],
}: ConsoleScreenProps) {
  const { head, steps } = view;
  const [selected, setSelected] = useState(0);
  const [follow, setFollow] = useState(true);
  // Keys typed while a prompt is opening, or between a form's fields: the next prompt takes them (see Prompt.tsx).
  const pending = useRef('');
  // Keys typed ahead arrive before React renders: the refs say at once that a prompt, not the list, has them.
  const [mode, modeRef, setModeState] = useRefState<Mode>('list');
  const setMode = (next: Mode) => {
    if (next === 'find') pending.current = '';
    setModeState(next);
  };
  const [form, formRef, setForm] = useRefState<FormState | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>();
  const [message, setMessage] = useState<ActionOutcome | undefined>();
  const [lastFind, setLastFind] = useState('');
  const inFlight = useRef(false);
  const shape = useRunShape(head?.runId, steps);
  const { items, plan, indexOf } = shape;
  const ended = head?.endedAt !== undefined;
  // Focus follows the running steps until the person moves.
  const followed =
    view.attention.find((s) => s.status === 'running' || s.status === 'waiting' || s.backout?.status === 'running') ?? view.attention[0];
  const current = follow && !ended && followed ? (indexOf.get(followed.id) ?? selected) : selected;
  const step = steps[current];

  const exitGate = head?.hypercare;
  const waiting = useMemo(() => {
    const exit = exitWaitingItem(exitGate, context);
    return [...waitingItems(view.attention, context), ...(exit ? [exit] : [])];
  }, [view.attention, exitGate, context]);
  const backout = head ? backoutProgress(head, stepsWithUndo(steps)) : undefined;
  const maxWaiting = height >= 40 ? 6 : height >= 30 ? 4 : 2;
  const duty = head && !ended ? dutyNow(context.rota, head, now) : [];
  const panel = waitingPanelHeight(waiting.length, backout !== undefined, maxWaiting, duty.length);
  const showForecast = forecast !== undefined && head?.endedAt === undefined;
  // Under the header (a line more with the forecast), the panels and the red line, above the prompt and the footer.
  const above = (showForecast ? 4 : 3) + panel + hypercarePanelHeight(head?.hypercare) + (undelivered.length > 0 ? 1 : 0);
  const rows = Math.max(3, height - 1 - above - 1 - (form || mode === 'find' ? 3 : 2));
  const { top, selectedItem } = useStepWindow(shape, current, rows, steps.length, onVisible);

  // A key that moves the selection changes what the next key acts on: the keys after it wait for that render.
  const move = (to: number) => {
    const next = Math.max(0, Math.min(steps.length - 1, to));
    if (!follow && next === selected) return;
    keys.holdUntilRender();
    setFollow(false);
    setSelected(next);
  };

  const allowed = allowedOn(step, head, head !== undefined && !ended && view.connection !== 'recorded');
  const open = (f: Form) => {
    setMessage(undefined);
    pending.current = '';
    setForm({ form: f, index: 0, values: [] });
  };

  const submit = (action: ConsoleAction, label: string) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(label);
    void onAction(action)
      .then(setMessage, (err: unknown) => setMessage({ ok: false, message: String((err as Error)?.message ?? err) }))
      .finally(() => {
        inFlight.current = false;
        setBusy(undefined);
      });
  };

  /** A request key on the selected step: opens its form, or says why it does nothing here. */
  const actionKey = (input: string): void => {
    if (!step || !head) return;
    const form = requestForm(input, step, head, allowed, identity);
    if (typeof form === 'string') setMessage({ ok: false, message: form });
    else if (form) open(form);
  };

  const find = (text: string, from: number) => {
    if (!text.trim()) return;
    const found = findStep(steps, text, from);
    if (found === undefined) setMessage({ ok: false, message: `no step matches "${text.trim()}"` });
    else move(found);
  };

  const listKey = (input: string, key: Key) => {
    // A prompt is opening: what is typed now is its, not a command for the list.
    if (formRef.current || modeRef.current === 'find') {
      pending.current += keyText(input, key);
      return;
    }
    if (modeRef.current === 'details' || modeRef.current === 'help') {
      if (key.escape || key.return || input === 'q' || input === '?') setMode('list');
      return;
    }
    if (input === 'q') return onQuit();
    if (input === '?') return setMode('help');
    if (steps.length === 0) return;
    if (key.upArrow || input === 'k') return move(current - 1);
    if (key.downArrow || input === 'j') return move(current + 1);
    if (key.pageUp) return move(current - rows);
    if (key.pageDown) return move(current + rows);
    if (input === 'g' || key.home) return move(0);
    if (input === 'G' || key.end) return move(steps.length - 1);
    if (input === 'f' && !follow) {
      keys.holdUntilRender();
      return setFollow(true);
    }
    if (key.return && step) return setMode('details');
    if (input === '/') return setMode('find');
    if (input === 'n' && lastFind) return find(lastFind, current);
    if (!busy) actionKey(input);
  };
  const keys = useKeyQueue({
    isActive: !form && mode !== 'find',
    pending,
    listening: () => !formRef.current && modeRef.current !== 'find',
    onKey: listKey,
  });
  const footer = footerKeys(allowed, follow);

  if (!head) {
    return (
      <Connecting width={width} reconnecting={view.connection === 'reconnecting'} {...(view.problem ? { problem: view.problem } : {})} />
    );
  }
  const header = runHeader(head, plan.plannedMs, now, context, waitingGateWindow(view.attention));
  return (
    <Box flexDirection="column" width={width}>
      <Header
        head={head}
        header={header}
        connection={view.connection}
        {...(view.problem ? { problem: view.problem } : {})}
        {...(showForecast ? { forecast: { line: forecastLine(forecast, now), tone: forecastWords(forecast, now).tone } } : {})}
        width={width}
      />
      {undelivered.length > 0 && (
        <Text color="red" wrap="truncate">
          {undeliveredLine(undelivered, head.runId)}
        </Text>
      )}
      {head.hypercare && <HypercarePanel head={head} context={context} now={now} width={width} />}
      <WaitingPanel items={waiting} {...(backout ? { backout } : {})} max={maxWaiting} now={now} width={width} duty={duty} />
      {mode === 'details' && step ? (
        <StepDetails step={step} context={context} critical={plan.critical.has(step.id)} now={now} width={width} rows={rows + 1} />
      ) : mode === 'help' ? (
        <HelpPanel width={width} rows={rows + 1} />
      ) : (
        <StepList
          items={items}
          steps={steps}
          top={top}
          rows={rows}
          selectedItem={selectedItem}
          critical={plan.critical}
          context={context}
          now={now}
          width={width}
        />
      )}
      {form ? (
        <FormPrompt
          form={form}
          current={() => formRef.current}
          pending={pending}
          onChange={setForm}
          onDone={(action) => submit(action, requestLabel(action))}
        />
      ) : mode === 'find' ? (
        <FindPrompt
          initial={lastFind}
          pending={pending}
          onCancel={() => setMode('list')}
          onSubmit={(text) => {
            setMode('list');
            setLastFind(text);
            find(text, current - 1);
          }}
        />
      ) : (
        <StatusLine {...(busy ? { busy } : {})} {...(message ? { message } : {})} following={follow && !ended} />
      )}
      <Text wrap="truncate" dimColor>
        {mode === 'details' || mode === 'help' ? 'Esc back · q back' : footer}
      </Text>
    </Box>
  );
}

/** The `/` prompt: part of a step's id or title. */
function FindPrompt(props: { initial: string; pending: MutableRefObject<string>; onCancel: () => void; onSubmit: (text: string) => void }) {
  return (
    <>
      <Text bold wrap="truncate">
        find a step
      </Text>
      <Prompt
        label="/"
        initial={props.initial}
        hint="part of an id or title; Enter jumps, n finds the next"
        isActive
        pending={props.pending}
        onCancel={props.onCancel}
        onSubmit={props.onSubmit}
      />
    </>
  );
}

/** The keys that make sense now on what is selected (`allowed`), the ones that act first. */
export function footerKeys(allowed: Allowed, follow: boolean): string {
  const keys: string[] = [];
  if (allowed.canAct && (allowed.gateOpen || allowed.exitGateOpen)) keys.push('a approve', 'r reject');
  if (allowed.canAct && allowed.manual) keys.push('d done');
  if (allowed.canAct && allowed.resolvable) keys.push('R resolve');
  if (allowed.canBackout) keys.push('b back-out');
  keys.push('↑↓ move', 'Enter open');
  if (!follow && !allowed.ended) keys.push('f follow');
  keys.push('/ find', '? help', 'q leave');
  return keys.join(' · ');
}

function stepsWithUndo(steps: readonly (StepState | undefined)[]): StepState[] {
  return steps.filter((s): s is StepState => s?.backout !== undefined);
}

/** A waiting gate's window, when the console was not given the runbook's. */
function waitingGateWindow(attention: readonly StepState[]): { at: string; windowEnd: string } | undefined {
  return attention.find((s) => s.gate?.pointOfNoReturn)?.gate?.pointOfNoReturn;
}

/** `! not delivered (2, cutover events RUN): the gate_opened:go message to ben on mail gave up after 5 attempts; …` */
export function undeliveredLine(lines: readonly string[], runId: string): string {
  return `! not delivered (${lines.length}, cutover events ${runId}): ${lines[0]}${lines.length > 1 ? '; …' : ''}`;
}

/** State the screen renders from and key handlers read at once through the ref (keys arrive before React renders). */
function useRefState<T>(initial: T): [T, MutableRefObject<T>, (next: T) => void] {
  const [value, setValue] = useState<T>(initial);
  const ref = useRef<T>(initial);
  const set = (next: T) => {
    ref.current = next;
    setValue(next);
  };
  return [value, ref, set];
}

/** The next step after `from` (wrapping round) whose id or title contains `text`, ignoring case. */
function findStep(steps: readonly (StepState | undefined)[], text: string, from: number): number | undefined {
  const q = text.trim().toLowerCase();
  for (let k = 1; k <= steps.length; k += 1) {
    const i = (from + k) % steps.length;
    const s = steps[i];
    if (s && (s.id.toLowerCase().includes(q) || s.title.toLowerCase().includes(q))) return i;
  }
  return undefined;
}
