/**
 * The list's keys, in the order they came. A burst read at once (a quick typist, a paste, a busy machine) comes from
 * Ink as one event; it is split into keys (see `eachKey`), and a key that moves the selection holds the keys after it
 * until the next render, so they act on what is then selected. Keys typed after a form's last answer, before the list
 * listens again, wait in `pending` and come back to the list ahead of anything typed since.
 */
import { useInput, type Key } from 'ink';
import { useEffect, useRef, type MutableRefObject } from 'react';
import { eachKey, textKeys, type KeyPress } from './Prompt.js';

export interface KeyQueueOptions {
  /** Whether the list listens now (no prompt open). */
  isActive: boolean;
  /** Keys typed for a prompt that had closed (see Prompt.tsx). */
  pending: MutableRefObject<string>;
  /** Whether the list takes keys right now (checked when they are handed over, not when they came). */
  listening: () => boolean;
  onKey: (input: string, key: Key) => void;
}

/** Feeds the list's keys to `onKey` in order; `holdUntilRender()` holds the rest until the screen shows the change. */
export function useKeyQueue({ isActive, pending, listening, onKey }: KeyQueueOptions): { holdUntilRender: () => void } {
  const queue = useRef<KeyPress[]>([]);
  const held = useRef(false);
  // The latest handler: it reads the latest selection and mode.
  const handler = useRef(onKey);
  handler.current = onKey;
  const drain = () => {
    while (queue.current.length > 0 && !held.current) {
      const { input, key } = queue.current.shift()!;
      handler.current(input, key);
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
    { isActive },
  );
  // After every render: the keys held back by a move go on, and the keys typed after a form's last answer are the
  // list's again.
  useEffect(() => {
    held.current = false;
    if (listening() && pending.current) {
      queue.current.unshift(...textKeys(pending.current));
      pending.current = '';
    }
    drain();
  });
  return {
    holdUntilRender: () => {
      held.current = true;
    },
  };
}
