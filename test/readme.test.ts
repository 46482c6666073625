/**
 * README.md and docs/ are what a new cutover lead reads and copies first: their examples must be what the real tool
 * takes, their links must lead somewhere, and the README must stay a five-minute read.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Command } from 'commander';
import { formatProblem, type Problem } from '../lib/yaml-document/problems.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { parseReconcileConfig } from '../reconcile/parse-config.js';
import { reconcileConfig } from '../reconcile/config.js';
import { runbookJsonSchema } from '../runbook/json-schema.js';

const root = path.resolve(import.meta.dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (page: string): string => readFileSync(path.join(root, page), 'utf8');

/** A fenced code block: its info string, its text, and the line its fence opens on (1-based). */
interface Block {
  page: string;
  lang: string;
  body: string;
  line: number;
}

function fencedBlocks(page: string): Block[] {
  const lines = read(page).split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line === '```');
    expect(end, `${page}:${i + 1}: a code block that is never closed`).toBeGreaterThan(i);
    blocks.push({ page, lang: open[1]!, body: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1 });
    i = end;
  }
  return blocks;
}

/** The page's prose: fenced blocks and inline code left out, so a link inside an example is not taken for one. */
function prose(page: string): string {
  return read(page)
    .replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '')
    .replace(/`[^`\n]*`/g, 'code');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const text = read(page).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

/** Every word inside an inline code span of a page (`{ rows, value }` gives rows and value). */
function codeWords(page: string): Set<string> {
  const text = read(page).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/`([^`\n]+)`/g)].flatMap((m) => m[1]!.split(/[^\w-]+/)).filter(Boolean));
}

/** Property names and enum/const string values anywhere in a JSON Schema. */
function schemaWords(schema: unknown): Set<string> {
  const words = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object') for (const key of Object.keys(o.properties)) words.add(key);
    if (typeof o.const === 'string') words.add(o.const);
    if (Array.isArray(o.enum)) for (const value of o.enum) if (typeof value === 'string') words.add(value);
    Object.values(o).forEach(walk);
  };
  walk(schema);
  return words;
}

/** What a runbook fragment lacks to be a whole runbook, added above it (a page shows only the keys it explains). */
const FRAGMENT_HEAD: [string, string][] = [
  ['name', 'name: docs-example'],
  ['version', 'version: 1'],
  ['lead', 'lead: lead'],
  ['roles', 'roles: { lead: [alice], business-owner: [ben], integration: [chen] }'],
  ['phases', 'phases: [{ id: p, kind: preparation, steps: [{ id: s, title: S, owner: lead, expected: 1m, action: { kind: manual } }] }]'],
];

/** A problem with the line of the page it is on (a problem in the added head shows a line above the block). */
function onPage(problem: Problem, block: Block, headLines: number): string {
  return formatProblem({ ...problem, line: block.line + problem.line - headLines });
}

type Checked = { block: Block; kind: 'runbook'; runbook: Runbook } | { block: Block; kind: 'reconcile config' };

/** Checks a ```yaml block as what it is: a reconciliation config (source and target), else a runbook or part of one. */
function checkYaml(block: Block): Checked {
  const where = `${block.page}:${block.line}`;
  const keys = new Set([...block.body.matchAll(/^([a-z_]+):/gm)].map((m) => m[1]!));
  if (keys.has('source') && keys.has('target') && !keys.has('phases')) {
    const parsed = parseReconcileConfig(block.body, block.page);
    expect(parsed.ok ? [] : parsed.problems.map((p) => onPage(p, block, 0)), `${where}: the reconciliation config example`).toEqual([]);
    return { block, kind: 'reconcile config' };
  }
  const head = FRAGMENT_HEAD.filter(([key]) => !keys.has(key)).map(([, line]) => `${line}\n`);
  const parsed = parseRunbook(head.join('') + block.body, block.page);
  expect(parsed.ok ? [] : parsed.problems.map((p) => onPage(p, block, head.length)), `${where}: the runbook example`).toEqual([]);
  if (!parsed.ok) throw new Error(`${where} does not validate`);
  return { block, kind: 'runbook', runbook: parsed.runbook };
}

const yamlExamples = (): Checked[] =>
  pages
    .flatMap(fencedBlocks)
    .filter((b) => b.lang === 'yaml')
    .map(checkYaml);

/** Every `cutover ...` command line in a page's shell and console examples, with where it is. */
function commandLines(): { where: string; words: string[] }[] {
  const found: { where: string; words: string[] }[] = [];
  for (const block of pages.flatMap(fencedBlocks)) {
    if (block.lang !== 'sh' && block.lang !== 'console') continue;
    // A line ending in a backslash goes on in the next one; the command keeps the number of its first line.
    const raw = block.body.split('\n');
    const lines = raw.map(() => '');
    for (let i = 0; i < raw.length; i++) {
      const first = i;
      let line = raw[i]!;
      while (line.endsWith('\\') && i + 1 < raw.length) line = `${line.slice(0, -1)} ${raw[++i]!}`;
      lines[first] = line;
    }
    lines.forEach((line, i) => {
      if (block.lang === 'console' && !line.startsWith('$ ')) return;
      const at = line.search(/(?:^|\s|\$ )(?:npx )?cutover /);
      if (at < 0 || /^\s*#/.test(line)) return;
      const words = line
        .slice(at)
        .replace(/"[^"]*"|'[^']*'|\$\([^)]*\)/g, 'ARG')
        .split(/\s+/)
        .filter(Boolean);
      const end = words.findIndex((w) => w === '#' || w === '|' || w === '>' || w === '&&');
      const command = (end < 0 ? words : words.slice(0, end)).filter((w) => w !== '$' && w !== 'npx');
      found.push({ where: `${block.page}:${block.line + i + 1}`, words: command.slice(1) });
    });
  }
  return found;
}

async function program(): Promise<Command> {
  const { buildProgram } = await import('../cli/main.js');
  return buildProgram(() => undefined);
}

/** Every command, `keys init` and `keys show` included, by the name a reader types. */
function commandsOf(top: Command): Map<string, Command> {
  const result = new Map<string, Command>();
  for (const command of top.commands) {
    // A command with subcommands counts itself when it has options of its own (`web` serves; `web invite` invites).
    if (command.commands.length === 0 || command.options.length > 0) result.set(command.name(), command);
    for (const sub of command.commands) result.set(`${command.name()} ${sub.name()}`, sub);
  }
  return result;
}

describe('README.md', () => {
  it('stays a five-minute read: under 300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThan(300);
  });

  it('has one runbook example, which validates and has a go/no-go phase', () => {
    const examples = yamlExamples().filter((c) => c.block.page === 'README.md');
    expect(examples.map((c) => c.kind)).toEqual(['runbook']);
    const [example] = examples;
    if (example?.kind !== 'runbook') return;
    expect(example.runbook.name, 'a whole runbook, not a fragment').toBe('crm-go-live');
    expect(example.runbook.phases.map((p) => p.kind)).toContain('go_no_go');
  });

  it('documents every exit code the CLI defines, and so does docs/exit-codes.md', async () => {
    const { EXIT } = await import('../cli/errors.js');
    for (const page of ['README.md', 'docs/exit-codes.md']) {
      for (const code of Object.values(EXIT)) expect(read(page), `${page}: exit code ${code}`).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
    }
  });
});

describe('README.md and docs/', () => {
  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    let links = 0;
    for (const page of pages) {
      for (const [, target] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue;
        links++;
        const [file, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        const full = path.join(root, resolved);
        if (!existsSync(full)) {
          broken.push(`${page}: ${target} (no ${resolved})`);
        } else if (anchor !== undefined) {
          if (!resolved.endsWith('.md') || statSync(full).isDirectory())
            broken.push(`${page}: ${target} (an anchor on a file that is not Markdown)`);
          else if (!anchors(resolved).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(links).toBeGreaterThan(50);
  });

  it('has yaml examples that the tool takes, each as what it is', () => {
    const checked = yamlExamples();
    const where = (page: string) => checked.filter((c) => c.block.page === page).map((c) => c.kind);
    expect(where('docs/reconciliation.md')).toEqual(['reconcile config', 'runbook']);
    expect(where('docs/signatures.md')).toEqual(['runbook']);
    expect(where('docs/runbook-format.md')).toEqual(['runbook', 'runbook', 'runbook']);
    // The reconciliation page's runbook: a reconcile action, a reconcile check, and a repeating one in hypercare.
    const inRunbook = checked.find((c) => c.block.page === 'docs/reconciliation.md' && c.kind === 'runbook');
    const kinds =
      inRunbook?.kind === 'runbook'
        ? inRunbook.runbook.phases.flatMap((p) => p.steps.flatMap((s) => [s.action?.kind, ...s.checks.map((c) => c.kind)]))
        : [];
    expect(kinds.filter((k) => k === 'reconcile')).toHaveLength(3);
  });

  it('show only commands and flags the CLI has', async () => {
    const commands = commandsOf(await program());
    const lines = commandLines();
    const wrong: string[] = [];
    for (const { where, words } of lines) {
      const name = commands.has(`${words[0]} ${words[1]}`) ? `${words[0]} ${words[1]}` : words[0]!;
      const command = commands.get(name);
      if (!command) {
        wrong.push(`${where}: no command \`cutover ${name}\``);
        continue;
      }
      const flags = new Set([...command.options.map((o) => o.long), '--help']);
      for (const flag of words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!)) {
        if (!flags.has(flag)) wrong.push(`${where}: \`cutover ${name}\` has no ${flag}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(lines.length).toBeGreaterThan(40);
  });
});

describe('docs/commands.md', () => {
  it('lists every command with every flag in its table, and has a section with an example for each', async () => {
    const page = read('docs/commands.md');
    const lines = new Set(
      commandLines()
        .filter((l) => l.where.startsWith('docs/commands.md:'))
        .map((l) => l.words.slice(0, 2).join(' ')),
    );
    for (const [name, command] of commandsOf(await program())) {
      const row = new RegExp(`^\\| \`cutover ${name}( [^\`]*)?\` \\|.*$`, 'm').exec(page)?.[0];
      expect(row, `a table row for cutover ${name}`).toBeDefined();
      for (const option of command.options) expect(row, `cutover ${name} ${option.long}`).toContain(option.long);
      expect(
        [...lines].some((l) => l === name || l.startsWith(`${name} `)),
        `an example of cutover ${name}`,
      ).toBe(true);
    }
    expect(page).toContain('`cutover --version`');
  });

  it("shows validate's real output for the sample, and the sample's real version hash wherever it appears", async () => {
    const { validateRunbook: validate } = await import('../cli/validate-runbook.js');
    const printed: string[] = [];
    const code = validate('examples/sample/runbook.yaml', false, {
      line: (text) => printed.push(text),
      warn: () => undefined,
      json: () => undefined,
      raw: () => undefined,
    });
    expect(code).toBe(0);
    const page = read('docs/commands.md');
    expect(page, 'the output under `$ npx cutover validate examples/sample/runbook.yaml`').toContain(
      `$ npx cutover validate examples/sample/runbook.yaml\n${printed[0]}\n`,
    );
    const hash = /\(([0-9a-f]{16})\)$/.exec(printed[0]!)?.[1];
    for (const name of pages) {
      for (const [shown] of read(name).matchAll(/sample-crm v1\.0 \([0-9a-f]{16}\)/g))
        expect(shown, name).toBe(`sample-crm v1.0 (${hash})`);
    }
  });
});

describe('docs/runbook-format.md and docs/reconciliation.md', () => {
  it('name every key and every keyword of the runbook format', () => {
    const documented = new Set([...codeWords('docs/runbook-format.md'), ...codeWords('docs/reconciliation.md')]);
    const words = schemaWords(runbookJsonSchema());
    expect(words.size).toBeGreaterThan(100);
    expect([...words].filter((w) => !documented.has(w))).toEqual([]);
  });

  it('docs/reconciliation.md names every key and keyword of a reconciliation config', () => {
    const documented = codeWords('docs/reconciliation.md');
    const words = schemaWords(z.toJSONSchema(reconcileConfig, { io: 'input' }));
    expect([...words].filter((w) => !documented.has(w))).toEqual([]);
  });
});

describe('docs/production.md', () => {
  it('lists every environment variable cutover reads in its one table', () => {
    // Read from cutover's sources: `env.NAME` / `process.env.NAME` for CUTOVER_* and TEMPORAL_* names.
    const sources = ['cli', 'prisma', 'worker', 'web', 'activities'].flatMap((dir) =>
      readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts') && !file.startsWith('generated'))
        .map((file) => readFileSync(path.join(root, dir, file), 'utf8')),
    );
    const used = new Set(sources.flatMap((text) => [...text.matchAll(/\benv\.((?:CUTOVER|TEMPORAL)_[A-Z0-9_]+)/g)].map((m) => m[1]!)));
    // Set by cutover for its own SQL child process, never by a user.
    for (const internal of ['CUTOVER_SQLITE_MODULE', 'CUTOVER_PG_MODULE']) used.delete(internal);
    // Set by cutover for a step's commands (documented with the action kinds), read back from the step's own context.
    const format = read('docs/runbook-format.md');
    for (const runVariable of ['CUTOVER_RUN_ID', 'CUTOVER_STEP_ID', 'CUTOVER_ATTEMPT', 'CUTOVER_IDEMPOTENCY_KEY']) {
      used.delete(runVariable);
      expect(format, runVariable).toContain(`\`${runVariable}\``);
    }
    const production = read('docs/production.md');
    const table = production.slice(production.indexOf('## Every environment variable'));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(table, name).toMatch(new RegExp(`^\\| [^|]*\`${name}\``, 'm'));
  });
});
