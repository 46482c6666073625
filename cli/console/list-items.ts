/**
 * The rows of the console's step list: a heading per phase, then its steps, in runbook order. Built
 * once per run shape, so scrolling a 10,000-step run only slices an array.
 */
import type { StepState } from '../../run/state.js';

export type ListItem = { kind: 'phase'; phaseId: string; phaseKind: string } | { kind: 'step'; index: number };

export interface ListItems {
  items: ListItem[];
  /** For each step index, its row in `items`. */
  itemOfStep: number[];
}

export function listItems(steps: readonly (StepState | undefined)[]): ListItems {
  const items: ListItem[] = [];
  const itemOfStep: number[] = [];
  let phase: string | undefined;
  steps.forEach((step, index) => {
    if (step && step.phaseId !== phase) {
      phase = step.phaseId;
      items.push({ kind: 'phase', phaseId: step.phaseId, phaseKind: step.phaseKind });
    }
    itemOfStep.push(items.length);
    items.push({ kind: 'step', index });
  });
  return { items, itemOfStep };
}

/** The first row to show so that `selected` is on screen, moving as little as possible from `top`. */
export function scrollTop(top: number, selected: number, rows: number, total: number): number {
  let next = Math.min(top, Math.max(0, total - rows));
  if (selected < next) next = selected;
  if (selected >= next + rows) next = selected - rows + 1;
  return Math.max(0, next);
}
