/**
 * One line of typed input: a label, what is typed so far, a cursor. Enter gives the text, Esc cancels.
 * Pure: it only reports what the person typed.
 */
import { Text, useInput } from 'ink';
import { useRef, useState } from 'react';

export interface PromptProps {
  label: string;
  /** What an empty answer means (shown in brackets): Enter takes it, typing replaces it. */
  initial?: string;
  /** Said under the line, in grey: what is expected. */
  hint?: string;
  /** Why the last answer was not taken. */
  problem?: string;
  isActive: boolean;
  onSubmit: (text: string) => void;
  onCancel: () => void;
}

export function Prompt({ label, initial = '', hint, problem, isActive, onSubmit, onCancel }: PromptProps) {
  const [text, setShown] = useState('');
  // Keys typed ahead arrive faster than React renders: the ref, not the rendered state, is what was typed.
  const typed = useRef('');
  const setText = (next: string) => {
    typed.current = next;
    setShown(next);
  };
  // Answered: keys typed ahead belong to whatever comes next, not to this line again.
  const answered = useRef(false);
  const answer = (value: string) => {
    answered.current = true;
    onSubmit(value === '' ? initial : value);
  };
  useInput(
    (input, key) => {
      if (answered.current) return;
      if (key.escape) {
        answered.current = true;
        return onCancel();
      }
      if (key.return) return answer(typed.current);
      if (key.backspace || key.delete) return setText(typed.current.slice(0, -1));
      if (key.ctrl && input === 'u') return setText('');
      if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab) return;
      // Typed ahead or pasted text arrives in one piece: a line break in it ends the answer.
      const end = input.search(/[\r\n]/);
      if (end >= 0) return answer(typed.current + input.slice(0, end));
      if (input) setText(typed.current + input);
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
