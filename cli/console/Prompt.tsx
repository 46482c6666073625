/**
 * One line of typed input: a label, what is typed so far, a cursor. Enter gives the text, Esc cancels.
 * Pure: it only reports what the person typed.
 *
 * Keys typed faster than the screen renders (a quick typist, a paste) must not be lost or go elsewhere: the
 * keys that arrive before a prompt is on screen, or after its Enter but before the next prompt is, wait in
 * `pending` (as text, Enter as `\r`, Esc as `\x1b`, Backspace as `\x7f`, Ctrl-U as `\x15`), and the next
 * prompt starts with them.
 */
import { Text, useInput, type Key } from 'ink';
import { useEffect, useRef, useState, type MutableRefObject } from 'react';

/** A key as the text it stands for in `pending`; empty for keys a line of input ignores (arrows, Tab, Ctrl-…). */
export function keyText(input: string, key: Key): string {
  if (key.return) return '\r';
  if (key.escape) return '\x1b';
  if (key.backspace || key.delete) return '\x7f';
  if (key.ctrl && input === 'u') return '\x15';
  if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab) return '';
  return input;
}

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** One character as Ink would report it had it come alone: Enter, Esc, Backspace, Tab, Ctrl-letter, or text. */
function keyOf(c: string): KeyPress {
  if (c === '\r') return { input: '', key: { ...NO_KEY, return: true } };
  if (c === '\x1b') return { input: '', key: { ...NO_KEY, escape: true, meta: true } };
  if (c === '\x7f') return { input: '', key: { ...NO_KEY, delete: true } };
  if (c === '\b') return { input: '', key: { ...NO_KEY, backspace: true } };
  if (c === '\t') return { input: '\t', key: { ...NO_KEY, tab: true } };
  if (c !== '\n' && c <= '\x1a') return { input: String.fromCharCode(c.charCodeAt(0) + 96), key: { ...NO_KEY, ctrl: true } };
  return { input: c, key: { ...NO_KEY, shift: /^[A-Z]$/.test(c) } };
}

/** A key as `useInput` reports it. */
export interface KeyPress {
  input: string;
  key: Key;
}

/**
 * The keys in one input event, one by one. Ink hands over everything read from the terminal at once
 * as one event: a paste, or what a quick typist typed while a busy machine kept the console off the
 * CPU (`adana\rwhy\r`). Each key must act in turn (the `a` opens the prompt that the rest goes to),
 * so it is split here.
 */
export function eachKey(input: string, key: Key): KeyPress[] {
  const chars = [...input];
  const flagged = Object.entries(key).some(([name, on]) => on === true && name !== 'shift');
  return flagged || chars.length <= 1 ? [{ input, key }] : chars.map(keyOf);
}

/** Keys kept as text in `pending` (see {@link keyText}), as key presses again. */
export function textKeys(text: string): KeyPress[] {
  return [...text].map(keyOf);
}

export interface PromptProps {
  label: string;
  /** What an empty answer means (shown in brackets): Enter takes it, typing replaces it. */
  initial?: string;
  /** Said under the line, in grey: what is expected. */
  hint?: string;
  /** Why the last answer was not taken. */
  problem?: string;
  isActive: boolean;
  /** Keys typed ahead of this prompt, which it takes first; it leaves there what it does not take. */
  pending: MutableRefObject<string>;
  onSubmit: (text: string) => void;
  onCancel: () => void;
}

export function Prompt({ label, initial = '', hint, problem, isActive, pending, onSubmit, onCancel }: PromptProps) {
  const [text, setShown] = useState('');
  // Keys typed ahead arrive faster than React renders: the ref, not the rendered state, is what was typed.
  const typed = useRef('');
  const setText = (next: string) => {
    typed.current = next;
    setShown(next);
  };
  // Answered or cancelled: later keys belong to whatever comes next.
  const answered = useRef(false);
  const feed = (keys: string) => {
    for (let i = 0; i < keys.length; i += 1) {
      if (answered.current) {
        pending.current = keys.slice(i) + pending.current;
        return;
      }
      const c = keys[i]!;
      if (c === '\x1b') {
        answered.current = true;
        pending.current = '';
        return onCancel();
      }
      if (c === '\r' || c === '\n') {
        if (c === '\r' && keys[i + 1] === '\n') i += 1;
        answered.current = true;
        onSubmit(typed.current === '' ? initial : typed.current);
      } else if (c === '\x7f' || c === '\b') setText(typed.current.slice(0, -1));
      else if (c === '\x15') setText('');
      else setText(typed.current + c);
    }
  };
  // Declared before useInput, so it runs first: what was typed ahead comes before what is typed now.
  useEffect(() => {
    const ahead = pending.current;
    pending.current = '';
    if (ahead) feed(ahead);
  }, []);
  useInput(
    (input, key) => {
      const keys = keyText(input, key);
      if (answered.current) pending.current += keys;
      else feed(keys);
    },
    { isActive },
  );
  return (
    <>
      <Text wrap="truncate">
        <Text bold>{label}</Text>
        {initial ? <Text dimColor> [{initial}]</Text> : null}
        <Text bold>: </Text>
        {text}
        <Text inverse> </Text>
      </Text>
      {problem ? (
        <Text color="red" wrap="truncate">
          {problem}
        </Text>
      ) : (
        <Text dimColor wrap="truncate">
          {hint ?? 'Enter to confirm, Esc to cancel'}
        </Text>
      )}
    </>
  );
}
