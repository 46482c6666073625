/**
 * The mapping file of `cutover import --columns MAP.yaml`: which of a plan's headers mean which column, what its
 * phases are, the UTC offset of its times, and the runbook's own settings a plan does not have (name, lead, window).
 */
import { z } from 'zod';
import { parseYamlDocument } from '../lib/yaml-document/read.js';
import type { Problem } from '../lib/yaml-document/problems.js';
import { DURATION_PATTERN } from '../runbook/duration.js';
import { phaseKind } from '../runbook/schema.js';
import { FIELDS, type Field } from './columns.js';

const headers = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const planMapping = z
  .object({
    columns: z
      .partialRecord(z.enum(FIELDS), headers)
      .optional()
      .describe('Column -> the header (or headers) it has in your plan, e.g. `title: Activity`, `id: [Ref, "Task #"]`.'),
    phase_kinds: z
      .record(z.string(), phaseKind)
      .optional()
      .describe('Phase or section name as written in the plan -> its kind, where the name does not say it.'),
    utc_offset: z
      .string()
      .regex(/^(Z|[+-]\d{2}:\d{2})$/, { message: 'expected Z or an offset such as +01:00' })
      .default('Z')
      .describe("The offset of the plan's dates and times that carry none (default Z, UTC)."),
    runbook: z
      .object({
        name: z
          .string()
          .regex(/^[a-z0-9][a-z0-9_-]*$/, { message: 'expected lower-case letters, digits, - and _' })
          .optional(),
        version: z.union([z.string(), z.number()]).transform(String).optional(),
        description: z.string().optional(),
        lead: z.string().min(1).optional().describe('The lead role (default: a role with "lead" in its name, else the first gate owner).'),
        window: z
          .object({
            start: z.iso.datetime({ offset: true }).optional(),
            length: z.string().regex(DURATION_PATTERN, { message: 'expected a duration such as 6h' }),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type PlanMapping = z.output<typeof planMapping>;

/** The mapping file's column headers by field, as lists. */
export function extraHeaders(mapping: PlanMapping | undefined): Partial<Record<Field, string[]>> {
  const result: Partial<Record<Field, string[]>> = {};
  for (const [field, value] of Object.entries(mapping?.columns ?? {}) as [Field, string | string[]][]) {
    result[field] = Array.isArray(value) ? value : [value];
  }
  return result;
}

/** Reads a mapping file's text; problems as `file:line:column path: message`. */
export function parsePlanMapping(text: string, file: string): { ok: true; mapping: PlanMapping } | { ok: false; problems: Problem[] } {
  const read = parseYamlDocument(text, file, {
    schema: planMapping,
    expected: 'a mapping file must be a YAML mapping with `columns`, `phase_kinds`, `utc_offset` or `runbook`',
  });
  return read.ok ? { ok: true, mapping: read.data } : { ok: false, problems: read.problems };
}
