/**
 * What the run needs of a runbook's `hypercare:` block without zod (the workflow bundle imports it): the severities,
 * whether the run goes on into hypercare, and the MTTR targets in milliseconds. The block's schema is hypercare.ts.
 */
import type { HypercareConfig } from './hypercare.js';
import type { Runbook } from './schema.js';

/** The severities of an incident, 1 the worst. */
export const SEVERITIES = [1, 2, 3, 4] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Whether the run goes on after go-live into hypercare: the runbook's `hypercare` has an `exit`. */
export function hasHypercareStage(runbook: Pick<Runbook, 'hypercare'>): boolean {
  return runbook.hypercare?.exit !== undefined;
}

/** The MTTR target of each severity in milliseconds, where the runbook gives one (per-severity targets only). */
export function mttrTargetsMs(
  config: Pick<HypercareConfig, 'mttr'> | undefined,
  parse: (text: string) => number,
): Partial<Record<Severity, number>> {
  const mttr = config?.mttr;
  if (mttr === undefined || typeof mttr === 'string') return {};
  const out: Partial<Record<Severity, number>> = {};
  for (const sev of SEVERITIES) {
    const text = mttr[`sev${sev}`];
    if (text !== undefined) out[sev] = parse(text);
  }
  return out;
}
