/**
 * The runbook format as JSON Schema, for editors: with
 * `# yaml-language-server: $schema=../schema/runbook.schema.json` at the top of a runbook, VS Code
 * and other YAML editors complete field names and flag mistakes while it is written.
 *
 * Generated from the same zod schema the parser uses, so the two cannot drift; the committed
 * `schema/runbook.schema.json` is checked against this by `test/runbook-json-schema.test.ts`.
 */
import { z } from 'zod';
import { runbookSchema } from './schema.js';

/**
 * A stable identifier for the schema. A URN rather than a web address: the schema is shipped
 * in the repository, not served from a site.
 */
export const RUNBOOK_SCHEMA_ID = 'urn:cutover:schema:runbook';

/**
 * The JSON Schema (draft 2020-12) of a runbook file *as written*: fields with defaults are
 * optional and `version` takes a string or a number, as the parser accepts them. Semantic rules
 * (unique ids, known roles, no cycles) are not expressible here; `cutover validate` checks them.
 */
export function runbookJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what authors write: defaults make fields optional, and the
  // `version` transform is described by its input (string or number) instead of failing.
  const generated = z.toJSONSchema(runbookSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'throw',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: RUNBOOK_SCHEMA_ID,
    title: 'cutover runbook',
    description:
      'A cutover runbook: phases of steps, each with a named owner role, run in dependency order with go/no-go gates and back-out actions.',
    ...rest,
  };
}
