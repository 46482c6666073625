/**
 * The round trip of a plan: `import(export(runbook))` keeps ids, titles, owners, dependencies, durations, fixed
 * starts and phases, for any runbook (fast-check), through XLSX and through CSV.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { durationMs } from '../runbook/duration.js';
import { runbookSchema, type Runbook } from '../runbook/schema.js';
import { validateRunbook } from '../runbook/validate.js';
import { planCsv, planTable, planXlsx } from '../plans/export-plan.js';
import { importPlan } from '../plans/import-plan.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-roundtrip-'));
const KINDS = ['preparation', 'data_freeze', 'migration', 'reconciliation', 'interface_switch_on', 'hypercare'] as const;

const id = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,11}$/);
const text = fc
  .stringMatching(/^[A-Za-z0-9À-ÿ€–'",;:()./ -]{1,40}$/)
  .map((t) => t.trim())
  .filter((t) => t.length > 0);
const duration = fc.integer({ min: 1, max: 48 * 60 }).map((minutes) => (minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`));

/** A valid runbook: phases of steps, each depending on some earlier steps, some with a duration or a fixed start. */
const runbooks = fc
  .record({
    roles: fc.uniqueArray(id, { minLength: 1, maxLength: 4 }),
    windowStart: fc.option(
      fc.integer({ min: 0, max: 365 * 24 * 4 }).map((q) => new Date(Date.UTC(2026, 0, 1) + q * 900_000).toISOString()),
      {
        nil: undefined,
      },
    ),
    phases: fc.array(
      fc.record({ kind: fc.constantFrom(...KINDS), title: fc.option(text, { nil: undefined }), steps: fc.integer({ min: 1, max: 5 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    stepIds: fc.uniqueArray(id, { minLength: 20, maxLength: 20 }),
    phaseIds: fc.uniqueArray(id, { minLength: 4, maxLength: 4 }),
    choices: fc.array(
      fc.record({
        title: text,
        owner: fc.nat(),
        deps: fc.array(fc.nat(), { maxLength: 3 }),
        expected: fc.option(duration, { nil: undefined }),
        fixed: fc.option(
          fc.oneof(
            duration.map((d) => `+${d}`),
            fc.integer({ min: 0, max: 96 }).map((q) => q),
          ),
          { nil: undefined },
        ),
        gate: fc.boolean(),
      }),
      { minLength: 20, maxLength: 20 },
    ),
  })
  .map(({ roles, windowStart, phases, stepIds, phaseIds, choices }): Runbook => {
    let n = 0;
    const book = {
      name: 'roundtrip',
      version: '1',
      lead: roles[0]!,
      roles: Object.fromEntries(roles.map((r) => [r, [`${r}-person`]])),
      ...(windowStart ? { window: { start: windowStart, length: '12h' } } : {}),
      phases: phases.map((p, pi) => ({
        id: phaseIds[pi]!,
        kind: p.kind,
        ...(p.title ? { title: p.title } : {}),
        steps: Array.from({ length: p.steps }, () => {
          const i = n++;
          const c = choices[i]!;
          const earlier = stepIds.slice(0, i);
          const deps = [...new Set(c.deps.filter(() => earlier.length > 0).map((d) => earlier[d % earlier.length]!))];
          const fixed =
            typeof c.fixed === 'number'
              ? windowStart
                ? new Date(Date.parse(windowStart) + c.fixed * 900_000).toISOString()
                : undefined
              : c.fixed;
          return {
            id: stepIds[i]!,
            title: c.title,
            owner: roles[c.owner % roles.length]!,
            ...(deps.length > 0 ? { depends_on: deps } : {}),
            ...(c.expected && !c.gate ? { expected: c.expected } : {}),
            ...(fixed ? { not_before: fixed } : {}),
            ...(c.gate ? { gate: { approvers: [roles[0]!] } } : { action: { kind: 'manual' } }),
          };
        }),
      })),
    };
    const parsed = runbookSchema.parse(book);
    expect(validateRunbook(parsed).errors).toEqual([]);
    return parsed;
  });

/** What a round trip keeps. */
function kept(book: Runbook) {
  return book.phases.map((phase) => ({
    id: phase.id,
    kind: phase.kind,
    title: phase.title,
    steps: phase.steps.map((step) => ({
      id: step.id,
      title: step.title,
      owner: step.owner,
      depends_on: step.depends_on,
      expected: step.expected === undefined ? undefined : durationMs(step.expected),
      not_before:
        step.not_before === undefined
          ? undefined
          : step.not_before.startsWith('+')
            ? durationMs(step.not_before.slice(1))
            : Date.parse(step.not_before),
    })),
  }));
}

async function roundTrip(book: Runbook, format: 'xlsx' | 'csv', n: number): Promise<Runbook> {
  const table = planTable(book, []);
  const file = path.join(dir, `plan-${n}.${format}`);
  writeFileSync(file, format === 'xlsx' ? await planXlsx(table) : planCsv(table));
  const result = await importPlan(file);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return runbookSchema.parse(result.built.runbook);
}

describe('import(export(runbook))', () => {
  for (const format of ['xlsx', 'csv'] as const) {
    it(`keeps ids, titles, owners, dependencies, durations, fixed starts and phases through ${format.toUpperCase()}`, async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(runbooks, async (book) => {
          const back = await roundTrip(book, format, n++);
          expect(kept(back)).toEqual(kept(book));
        }),
        { numRuns: 40 },
      );
    });
  }
});
