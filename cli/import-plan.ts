/**
 * `cutover import`: reads the plan, builds (or updates) the runbook, and writes it whole only when it is valid; every
 * problem is one line, all of them, exit 3, nothing written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkWritten, importPlan } from '../plans/import-plan.js';
import { mergeInto, readBase } from '../plans/merge-into.js';
import { runbookYaml } from '../plans/write-runbook.js';
import { EXIT, InvalidRunbookError, UsageError } from './errors.js';
import type { Output } from './output.js';
import { writeAtomically } from './report-file.js';

export interface ImportFlags {
  sheet?: string;
  columns?: string;
  out?: string;
  into?: string;
}

export async function importPlanFile(plan: string, flags: ImportFlags, out: Output): Promise<number> {
  const target = flags.out ?? flags.into!;
  let baseText: string | undefined;
  if (flags.into !== undefined) {
    try {
      baseText = readFileSync(flags.into, 'utf8');
    } catch (err) {
      throw new UsageError(
        `cannot read ${flags.into} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); --into names a runbook to update`,
      );
    }
  }
  const base = baseText !== undefined ? readBase(baseText, flags.into!) : undefined;
  if (base && !base.ok) throw new InvalidRunbookError(flags.into!, base.problems);
  const result = await importPlan(plan, {
    ...(flags.sheet !== undefined ? { sheet: flags.sheet } : {}),
    ...(flags.columns !== undefined ? { columns: flags.columns } : {}),
    ...(base?.ok ? { base: base.options } : {}),
  });
  if (!result.ok) throw new InvalidRunbookError(plan, result.problems);
  const from = `${path.basename(plan)}${result.sheet.sheet !== undefined ? ` (sheet "${result.sheet.sheet}")` : ''}`;
  let text: string;
  let summary: string;
  if (base?.ok) {
    const merged = mergeInto(baseText!, result.built);
    text = merged.text;
    summary = `updated ${target} from ${from}: ${merged.updated} step(s) updated, ${merged.added} added${merged.kept.length > 0 ? `, ${merged.kept.length} not in the plan kept (${merged.kept.slice(0, 5).join(', ')}${merged.kept.length > 5 ? ', ...' : ''})` : ''}`;
  } else {
    text = runbookYaml(
      result.built.runbook,
      `Imported from ${from} by \`cutover import\`.\nRe-import a changed plan with \`cutover import PLAN --into ${path.basename(target)}\`: titles, owners, dependencies,\ndurations and fixed starts follow the plan; actions, checks and back-outs written here stay.`,
    );
    const steps = result.built.runbook.phases.reduce((n, p) => n + p.steps.length, 0);
    summary = `wrote ${target} from ${from}: ${result.built.runbook.phases.length} phase(s), ${steps} step(s) from ${result.tasks} task(s)`;
  }
  const problems = checkWritten(text, target);
  if (problems.length > 0) throw new InvalidRunbookError(target, problems);
  writeAtomically(target, text);
  for (const note of result.notes) out.warn(`note: ${note}`);
  if (result.unread.length > 0) out.warn(`note: columns not read: ${result.unread.map((h) => `"${h}"`).join(', ')}`);
  out.line(summary);
  return EXIT.ok;
}
