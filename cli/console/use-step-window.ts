/**
 * Which rows of the step list are on screen: the run's shape as list items (computed when its steps are first read,
 * not on every poll), the plan's critical path and length, and the window of rows that keeps the selection in view
 * (scrolling up onto a phase's first step brings its heading along). Tells the reader which steps are visible, so it
 * reads only those.
 */
import { useEffect, useMemo, useRef } from 'react';
import { criticalPath, plannedRunMs } from '../../present/run-view.js';
import type { StepState } from '../../run/state.js';
import { listItems, scrollTop } from './list-items.js';

/** The run's shape: its list items, where each step is among them, its plan, and each step's index by id. */
export function useRunShape(runId: string | undefined, steps: readonly (StepState | undefined)[]) {
  const shapeKey = `${runId ?? ''}:${steps.length}:${steps[0] ? 1 : 0}`;
  const { items, itemOfStep } = useMemo(() => listItems(steps), [shapeKey]);
  const plan = useMemo(() => {
    const loaded = steps.filter((s): s is StepState => s !== undefined);
    return {
      critical: criticalPath({ order: loaded.map((s) => s.id), steps: Object.fromEntries(loaded.map((s) => [s.id, s])) }),
      plannedMs: plannedRunMs(loaded),
    };
  }, [shapeKey]);
  const indexOf = useMemo(() => new Map(steps.map((s, i) => [s?.id ?? '', i])), [shapeKey]);
  return { items, itemOfStep, plan, indexOf };
}

/** The first list row on screen and the selected row, for `rows` rows with step `current` selected. */
export function useStepWindow(
  shape: Pick<ReturnType<typeof useRunShape>, 'items' | 'itemOfStep'>,
  current: number,
  rows: number,
  stepCount: number,
  onVisible?: (from: number, to: number) => void,
): { top: number; selectedItem: number } {
  const { items, itemOfStep } = shape;
  const topRef = useRef(0);
  const selectedItem = itemOfStep[current] ?? 0;
  const heading = items[selectedItem - 1]?.kind === 'phase' ? selectedItem - 1 : selectedItem;
  const top = Math.min(scrollTop(topRef.current, selectedItem, rows, items.length), heading);
  topRef.current = top;
  const firstStep = items.slice(top, top + rows).find((i) => i.kind === 'step');
  const visibleFrom = firstStep?.kind === 'step' ? firstStep.index : 0;
  const visibleTo = Math.min(stepCount, visibleFrom + rows);
  useEffect(() => onVisible?.(visibleFrom, visibleTo), [visibleFrom, visibleTo, onVisible]);
  return { top, selectedItem };
}
