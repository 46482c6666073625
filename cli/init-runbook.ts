/**
 * `cutover init`: copies a template (templates/NAME: runbook.yaml and the CSV samples its reconcile step compares)
 * into a folder. Everything is checked before anything is written: an existing file is never written over, and a
 * failure halfway removes what this command wrote.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';
import { projectRoot } from './project-root.js';
import { writeAtomically } from './report-file.js';

/** The templates cutover ships, in the order `--help` and errors name them. */
export const TEMPLATES = ['crm', 'erp', 'integration'] as const;

/** Every file of a template, as paths relative to its folder. */
function templateFiles(folder: string, under = ''): string[] {
  return readdirSync(path.join(folder, under), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(under, entry.name);
    return entry.isDirectory() ? templateFiles(folder, relative) : [relative];
  });
}

export function initRunbook(dir: string, template: string, out: Output): number {
  if (!(TEMPLATES as readonly string[]).includes(template))
    throw new UsageError(`there is no template "${template}"; pick one of ${TEMPLATES.join(', ')}`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file; name a folder to write the runbook into`);
  const source = path.join(projectRoot(), 'templates', template);
  const files = templateFiles(source).sort();
  const taken = files.filter((file) => existsSync(path.join(dir, file)));
  if (taken.length > 0)
    throw new UsageError(
      `${taken.map((file) => path.join(dir, file)).join(', ')} already exist${taken.length === 1 ? 's' : ''}; cutover init writes over nothing: pick an empty folder`,
    );
  const written: string[] = [];
  try {
    for (const file of files) {
      const target = path.join(dir, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeAtomically(target, readFileSync(path.join(source, file)));
      written.push(target);
    }
  } catch (err) {
    for (const target of written) rmSync(target, { force: true });
    throw err;
  }
  const runbook = path.join(dir, 'runbook.yaml');
  out.line(`wrote ${runbook} from the ${template} template (and ${files.length - 1} sample file(s) under ${path.join(dir, 'data')})`);
  out.line(`next: put your people in its roles, then \`cutover validate ${runbook}\` and \`cutover rehearse ${runbook} --auto-approve\``);
  return EXIT.ok;
}
