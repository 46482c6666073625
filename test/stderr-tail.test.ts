/**
 * The stderr line a failed query or comparison process quotes is masked afterwards with the step's other output:
 * it must never be a piece of a line, or a piece of a secret could survive the mask. Pure unit test.
 */
import { expect, it } from 'vitest';
import { StderrTail } from '../activities/stderr-tail.js';

const SECRET = 'pw-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789';

it('quotes the last whole line', () => {
  const tail = new StderrTail(100);
  tail.add('warming up\nconnect failed: ');
  tail.add('ECONNREFUSED 127.0.0.1:5432\n\n');
  expect(tail.lastLine()).toBe('connect failed: ECONNREFUSED 127.0.0.1:5432');
});

it('never quotes a line whose start was cut away, where a secret straddled the cut', () => {
  const tail = new StderrTail(100);
  // The secret ends 10 characters into what is kept: the old 2,000-character window kept `0123456789` of it.
  tail.add(`error: ${SECRET}${'x'.repeat(90)}`);
  const line = tail.lastLine();
  expect(line).toBeUndefined();
});

it('never quotes a long line in part', () => {
  const tail = new StderrTail(4000, 50);
  tail.add(`first line\n${'y'.repeat(45)} ${SECRET}\n`);
  expect(tail.lastLine()).toBeUndefined();
  tail.add('short last line\n');
  expect(tail.lastLine()).toBe('short last line');
});

it('keeps whole lines after a cut', () => {
  const tail = new StderrTail(30);
  tail.add(`${'z'.repeat(50)}\nthe query was cancelled\n`);
  expect(tail.lastLine()).toBe('the query was cancelled');
});
