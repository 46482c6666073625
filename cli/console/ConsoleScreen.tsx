/**
 * The console: one run on one screen. Header (mode, clock, window), what waits for people, back-out
 * progress, the steps by phase, one line for the last answer, and the keys that make sense for the
 * selected step. Pure: the run comes in as props, requests go out through `onAction`; it keeps only
 * what the person is doing (selection, a prompt, a request in flight).
 */
import { Box, Text, useInput, type Key } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import { backoutProgress, criticalPath, plannedRunMs, runHeader, waitingItems, type RunContext } from '../../present/run-view.js';
import type { StepState } from '../../run/state.js';
import type { ActionOutcome, ConsoleAction } from './actions.js';
import { Header } from './Header.js';
import { HelpPanel } from './HelpPanel.js';
import { listItems, scrollTop } from './list-items.js';
import { eachKey, keyText, Prompt, textKeys, type KeyPress } from './Prompt.js';
import type { RunView } from './run-poller.js';
import { StepDetails } from './StepDetails.js';
import { StepList } from './StepList.js';
import { WaitingPanel, waitingPanelHeight } from './WaitingPanel.js';

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
}

interface Field {
  label: string;
  initial?: string;
  hint?: string;
  /** Why an answer is not taken, or undefined when it is. */
  check?: (value: string) => string | undefined;
}

interface Form {
  title: string;
  fields: Field[];
  build: (values: string[]) => ConsoleAction;
}

type Mode = 'list' | 'details' | 'help' | 'find';

interface FormState {
  form: Form;
  index: number;
  values: string[];
  problem?: string;
  /** Counts refused answers: each gets a fresh line. */
  tries?: number;
}

const required =
  (what: string) =>
  (v: string): string | undefined =>
    v.trim() ? undefined : `${what} is required (it goes into the decision log)`;

export function ConsoleScreen({ view, context, now, width, height, identity, onAction, onVisible, onQuit }: ConsoleScreenProps) {
  const { head, steps } = view;
  const [selected, setSelected] = useState(0);
  const [follow, setFollow] = useState(true);
  // Keys typed while a prompt is opening, or between a form's fields: the next prompt takes them (see Prompt.tsx).
  const pending = useRef('');
  const [mode, setModeState] = useState<Mode>('list');
  // Like the form below: keys arrive before React renders, so the handlers read the mode from the ref.
  const modeRef = useRef<Mode>('list');
  const setMode = (next: Mode) => {
    modeRef.current = next;
    if (next === 'find') pending.current = '';
    setModeState(next);
  };
  const [form, setFormState] = useState<FormState | undefined>();
  // Keys typed ahead arrive before React renders: the ref says at once that a prompt, not the list, has them.
  const formRef = useRef<FormState | undefined>(undefined);
  const setForm = (next: FormState | undefined) => {
    formRef.current = next;
    setFormState(next);
  };
  const [busy, setBusy] = useState<string | undefined>();
  const [message, setMessage] = useState<ActionOutcome | undefined>();
  const [lastFind, setLastFind] = useState('');
  const inFlight = useRef(false);
  const topRef = useRef(0);

  // The run's shape and plan change only when its steps are first read: not on every poll.
  const shapeKey = `${head?.runId ?? ''}:${steps.length}:${steps[0] ? 1 : 0}`;
  const { items, itemOfStep } = useMemo(() => listItems(steps), [shapeKey]);
  const plan = useMemo(() => {
    const loaded = steps.filter((s): s is StepState => s !== undefined);
    return {
      critical: criticalPath({ order: loaded.map((s) => s.id), steps: Object.fromEntries(loaded.map((s) => [s.id, s])) }),
      plannedMs: plannedRunMs(loaded),
    };
  }, [shapeKey]);

  const ended = head?.endedAt !== undefined;
  const indexOf = useMemo(() => new Map(steps.map((s, i) => [s?.id ?? '', i])), [shapeKey]);
  // Focus follows the running steps until the person moves.
  const followed =
    view.attention.find((s) => s.status === 'running' || s.status === 'waiting' || s.backout?.status === 'running') ?? view.attention[0];
  const current = follow && !ended && followed ? (indexOf.get(followed.id) ?? selected) : selected;
  const step = steps[current];

  const waiting = useMemo(() => waitingItems(view.attention, context), [view.attention, context]);
  const backout = head ? backoutProgress(head, stepsWithUndo(steps)) : undefined;
  const maxWaiting = height >= 40 ? 6 : height >= 30 ? 4 : 2;
  const panel = waitingPanelHeight(waiting.length, backout !== undefined, maxWaiting);
  const bottom = form || mode === 'find' ? 3 : 2;
  const rows = Math.max(3, height - 1 - 3 - panel - 1 - bottom);
  const selectedItem = itemOfStep[current] ?? 0;
  // Scrolling up onto the first step of a phase brings its heading into view too.
  const heading = items[selectedItem - 1]?.kind === 'phase' ? selectedItem - 1 : selectedItem;
  const top = Math.min(scrollTop(topRef.current, selectedItem, rows, items.length), heading);
  topRef.current = top;

  // Tell the reader which steps are on screen (it reads only those).
  const firstStep = items.slice(top, top + rows).find((i) => i.kind === 'step');
  const visibleFrom = firstStep?.kind === 'step' ? firstStep.index : 0;
  const visibleTo = Math.min(steps.length, visibleFrom + rows);
  useEffect(() => onVisible?.(visibleFrom, visibleTo), [visibleFrom, visibleTo, onVisible]);

  // Keys for the list, in the order they came (a burst read at once comes as one event: see eachKey). A key that
  // moves the selection changes what the next key acts on, so the keys after it wait for that render.
  const queue = useRef<KeyPress[]>([]);
  const moved = useRef(false);
  const move = (to: number) => {
    const next = Math.max(0, Math.min(steps.length - 1, to));
    if (!follow && next === selected) return;
    moved.current = true;
    setFollow(false);
    setSelected(next);
  };

  const canAct = head !== undefined && !ended && view.connection !== 'recorded';
  const gateOpen = step?.gate?.status === 'open' && step.status === 'waiting';
  const manual =
    (step?.status === 'waiting' && step.waitingFor === 'manual') ||
    step?.backout?.status === 'manual' ||
    (step?.backout?.status === 'waiting' && !step.resolution);
  const resolvable = step?.resolution !== undefined && !step.resolution.decided;
  const canBackout = canAct && head.backout.status === 'not_requested';

  const who: Field = {
    label: 'who are you',
    initial: identity ?? '',
    hint: 'a person named in the runbook roles',
    check: required('who you are'),
  };
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

  const actionKey = (input: string): boolean => {
    if (!step || !head) return false;
    const refuse = (text: string) => setMessage({ ok: false, message: text });
    if (input === 'a' || input === 'r') {
      if (!canAct || !gateOpen) return (refuse(`${input}: ${step.id} is not an open gate`), true);
      const approve = input === 'a';
      open({
        title: `${approve ? 'approve' : 'reject'} gate ${step.id}: ${step.gate?.question ?? step.title}`,
        fields: [
          who,
          {
            label: approve ? 'why (optional)' : 'why',
            hint: 'recorded in the decision log',
            ...(approve ? {} : { check: required('a reason') }),
          },
        ],
        build: ([as, reason]) => {
          const evidence = step.gate?.evidence?.digest;
          return approve
            ? {
                kind: 'approve',
                gateId: step.id,
                as: as!.trim(),
                ...(reason?.trim() ? { reason: reason.trim() } : {}),
                ...(evidence ? { evidence } : {}),
              }
            : { kind: 'reject', gateId: step.id, as: as!.trim(), reason: reason!.trim(), ...(evidence ? { evidence } : {}) };
        },
      });
      return true;
    }
    if (input === 'd') {
      if (!canAct || !manual) return (refuse(`d: ${step.id} is not a manual step waiting to be done`), true);
      open({
        title: `mark ${step.id} done: ${step.title}`,
        fields: [who, { label: 'note (optional)' }],
        build: ([as, note]) => ({ kind: 'done', stepId: step.id, as: as!.trim(), ...(note?.trim() ? { reason: note.trim() } : {}) }),
      });
      return true;
    }
    if (input === 'R') {
      if (!canAct || !resolvable) return (refuse(`R: ${step.id} has no failure waiting to be resolved`), true);
      open({
        title: `resolve ${step.id}: ${step.resolution!.error.split('\n')[0]}`,
        fields: [
          {
            label: 'retry or done',
            hint: 'retry: run it again; done: it was done by hand, carry on',
            check: (v) => (['retry', 'done'].includes(v.trim()) ? undefined : 'type retry or done'),
          },
          who,
          { label: 'why', check: required('a reason') },
        ],
        build: ([choice, as, reason]) => ({
          kind: 'resolve',
          stepId: step.id,
          action: choice!.trim() as 'retry' | 'done',
          as: as!.trim(),
          reason: reason!.trim(),
        }),
      });
      return true;
    }
    if (input === 'b') {
      if (!canBackout) return (refuse(ended ? 'b: the run has ended' : 'b: back-out is already under way'), true);
      open({
        title: `BACK OUT ${head.runId}: running steps finish, then completed steps are undone in reverse order`,
        fields: [
          {
            label: `type the runbook name (${head.runbookName}) to confirm`,
            check: (v) => (v.trim() === head.runbookName ? undefined : `that is not ${head.runbookName}; Esc to cancel`),
          },
          who,
          { label: 'why', check: required('a reason') },
        ],
        build: ([, as, reason]) => ({ kind: 'backout', as: as!.trim(), reason: reason!.trim() }),
      });
      return true;
    }
    return false;
  };

  const find = (text: string, from: number) => {
    const q = text.trim().toLowerCase();
    if (!q) return;
    for (let k = 1; k <= steps.length; k += 1) {
      const i = (from + k) % steps.length;
      const s = steps[i];
      if (s && (s.id.toLowerCase().includes(q) || s.title.toLowerCase().includes(q))) return move(i);
    }
    setMessage({ ok: false, message: `no step matches "${text.trim()}"` });
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
      moved.current = true;
      return setFollow(true);
    }
    if (key.return && step) return setMode('details');
    if (input === '/') return setMode('find');
    if (input === 'n' && lastFind) return find(lastFind, current);
    if (busy) {
      return;
    }
    actionKey(input);
  };
  const drain = () => {
    while (queue.current.length > 0 && !moved.current) {
      const { input, key } = queue.current.shift()!;
      listKey(input, key);
    }
  };
  // Always listening, so raw mode stays on while the list hands the keys to a prompt and back: Ink turns raw mode off
  // when its last listener goes, and forgets a half-read key (an Esc waiting to see whether a sequence follows).
  useInput(() => undefined);
  useInput(
    (input, key) => {
      queue.current.push(...eachKey(input, key));
      drain();
    },
    { isActive: !form && mode !== 'find' },
  );
  // After every render: the keys held back by a move go on; and the keys typed after a form's last answer, before
  // the list listened again, are the list's (they wait in `pending`, ahead of anything typed since).
  useEffect(() => {
    moved.current = false;
    if (!formRef.current && modeRef.current !== 'find' && pending.current) {
      queue.current.unshift(...textKeys(pending.current));
      pending.current = '';
    }
    drain();
  });

  const keys = footerKeys({
    gateOpen: canAct && gateOpen,
    manual: canAct && manual,
    resolvable: canAct && resolvable,
    canBackout,
    follow,
    ended,
  });

  if (!head) {
    return (
      <Box flexDirection="column" width={width}>
        <Text>
          {view.connection === 'reconnecting' || view.problem
            ? `⟳ cannot read the run yet: ${view.problem ?? ''}`
            : '⟳ connecting to the run…'}
        </Text>
        <Text dimColor>q leave</Text>
      </Box>
    );
  }
  const header = runHeader(head, plan.plannedMs, now, context, waitingGateWindow(view.attention));
  return (
    <Box flexDirection="column" width={width}>
      <Header head={head} header={header} connection={view.connection} {...(view.problem ? { problem: view.problem } : {})} width={width} />
      <WaitingPanel items={waiting} {...(backout ? { backout } : {})} max={maxWaiting} now={now} width={width} />
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
        <>
          <Text bold color="yellow" wrap="truncate">
            {form.form.title}
          </Text>
          <Prompt
            key={`${form.index}:${form.tries ?? 0}`}
            label={form.form.fields[form.index]!.label}
            initial={form.form.fields[form.index]!.initial ?? ''}
            {...(form.form.fields[form.index]!.hint ? { hint: form.form.fields[form.index]!.hint } : {})}
            {...(form.problem ? { problem: form.problem } : {})}
            isActive
            pending={pending}
            onCancel={() => setForm(undefined)}
            onSubmit={(value) => {
              const form = formRef.current;
              if (!form) return;
              const field = form.form.fields[form.index]!;
              const problem = field.check?.(value);
              if (problem) return setForm({ ...form, problem, tries: (form.tries ?? 0) + 1 });
              const values = [...form.values, value];
              if (values.length < form.form.fields.length) return setForm({ form: form.form, index: form.index + 1, values });
              setForm(undefined);
              const action = form.form.build(values);
              submit(action, `${action.kind}${'gateId' in action ? ` ${action.gateId}` : 'stepId' in action ? ` ${action.stepId}` : ''}`);
            }}
          />
        </>
      ) : mode === 'find' ? (
        <>
          <Text bold wrap="truncate">
            find a step
          </Text>
          <Prompt
            label="/"
            initial={lastFind}
            hint="part of an id or title; Enter jumps, n finds the next"
            isActive
            pending={pending}
            onCancel={() => setMode('list')}
            onSubmit={(text) => {
              setMode('list');
              setLastFind(text);
              find(text, current - 1);
            }}
          />
        </>
      ) : (
        <Text wrap="truncate" color={busy ? 'cyan' : message ? (message.ok ? 'green' : 'red') : undefined} dimColor={!busy && !message}>
          {busy
            ? `sending ${busy}… (other requests wait for its answer)`
            : message
              ? message.message
              : follow && !ended
                ? 'following the running steps'
                : ' '}
        </Text>
      )}
      <Text wrap="truncate" dimColor>
        {mode === 'details' || mode === 'help' ? 'Esc back · q back' : keys}
      </Text>
    </Box>
  );
}

/** The keys that make sense now, the ones that act first. */
export function footerKeys(s: {
  gateOpen: boolean;
  manual: boolean;
  resolvable: boolean;
  canBackout: boolean;
  follow: boolean;
  ended: boolean;
}): string {
  const keys: string[] = [];
  if (s.gateOpen) keys.push('a approve', 'r reject');
  if (s.manual) keys.push('d done');
  if (s.resolvable) keys.push('R resolve');
  if (s.canBackout) keys.push('b back-out');
  keys.push('↑↓ move', 'Enter open');
  if (!s.follow && !s.ended) keys.push('f follow');
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
