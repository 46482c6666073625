import { describe, it, expect } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { runbookJsonSchema, RUNBOOK_SCHEMA_ID } from '../runbook/json-schema.js';

const schemaFile = new URL('../schema/runbook.schema.json', import.meta.url);
const generated = `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;

describe('schema/runbook.schema.json', () => {
  it('is the committed output of runbookJsonSchema() (UPDATE_SCHEMA=1 rewrites it)', () => {
    if (process.env.UPDATE_SCHEMA === '1') {
      mkdirSync(new URL('./', schemaFile), { recursive: true });
      writeFileSync(schemaFile, generated);
    }
    expect(readFileSync(schemaFile, 'utf8')).toBe(generated);
  });
});

describe('runbookJsonSchema', () => {
  const schema = runbookJsonSchema() as {
    $schema: string;
    $id: string;
    title: string;
    required: string[];
    properties: Record<string, any>;
  };
  const step = schema.properties.phases.items.properties.steps.items;

  it('names itself and its dialect', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(RUNBOOK_SCHEMA_ID);
    expect(schema.title).toBe('cutover runbook');
  });

  it('describes the runbook as written: fields with defaults are optional, version takes a number', () => {
    expect(schema.required).toEqual(['name', 'version', 'lead', 'roles', 'phases']);
    expect(step.required).toEqual(['id', 'title', 'owner']);
    expect(step.properties.depends_on.default).toEqual([]);
    expect(schema.properties.version.type).toEqual(['string', 'number']);
  });

  it('refuses unknown fields, as the parser does', () => {
    expect(step.additionalProperties).toBe(false);
    expect(schema).toHaveProperty('additionalProperties', false);
  });

  it('lists the action kinds', () => {
    const kinds = step.properties.action.oneOf.map((option: any) => option.properties.kind.const);
    expect(kinds).toEqual(['shell', 'http', 'sql', 'manual', 'wait', 'simulate', 'reconcile', 'notify']);
  });
});

// ajv (a dev dependency) stands in for the editors: what the parser accepts, the schema must
// accept, and what it refuses for its shape, the schema must flag.
interface Validator {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}
function loadValidator(): Validator {
  const require = createRequire(import.meta.url);
  const { default: Ajv2020 } = require('ajv/dist/2020') as {
    default: new (options: object) => { compile(schema: object): Validator };
  };
  const { default: addFormats } = require('ajv-formats') as { default: (ajv: object) => void };
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv.compile(runbookJsonSchema());
}
const validate = loadValidator();

describe('the JSON Schema in a validator', () => {
  const good = `
name: crm-cutover
version: 3
lead: lead
roles: { lead: [ana], dba: [ben] }
window: { start: '2025-06-14T22:00:00+02:00', length: 6h }
connections: { crm: { driver: sqlite, path: crm.db } }
phases:
  - id: prep
    kind: preparation
    steps:
      - id: backup
        title: Back up
        owner: dba
        expected: 10m
        action: { kind: sql, connection: crm, query: select 1, expect: { rows: 1 } }
        checks: [{ name: ok, kind: http, url: 'http://localhost/', expect: { status: [200, 204] } }]
        backout: { kind: manual }
  - id: decide
    kind: go_no_go
    steps:
      - { id: go, title: Go?, owner: lead, gate: { approvers: [lead] } }
`;

  it('accepts a good runbook', () => {
    expect(validate(parse(good)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses a misspelt field, a missing owner and an unknown action kind', () => {
    expect(validate(parse(good.replace('expected: 10m', 'expectd: 10m')))).toBe(false);
    expect(validate(parse(good.replace('owner: dba', 'notes: no owner')))).toBe(false);
    expect(validate(parse(good.replace('kind: manual', 'kind: manul')))).toBe(false);
    expect(validate(parse(good.replace('length: 6h', 'length: 6 hours')))).toBe(false);
  });
});
