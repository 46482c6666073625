/**
 * A decision-log head file (`cutover decisions RUN --export-head`), read back for `--verify --head FILE`: every field
 * checked, so a file that is not one says which field is wrong instead of passing or failing for the wrong reason.
 */
import { readFileSync } from 'node:fs';
import type { DecisionLogHead } from '../run/decision-log.js';
import { UsageError } from './errors.js';

const HASH = /^[0-9a-f]{64}$/;

/** The head in `file`; throws {@link UsageError} naming the file and the field when it is not one. */
export function readHeadFile(file: string): DecisionLogHead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `head file ${file} does not exist` : `cannot read head file ${file} (${code ?? (err as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`head file ${file} is not JSON; give the file \`cutover decisions RUN --export-head\` wrote`);
  }
  const wrong = (field: string, what: string): never => {
    throw new UsageError(`head file ${file}: \`${field}\` ${what}; give the file \`cutover decisions RUN --export-head\` wrote`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong('(top)', 'is not an object');
  const head = value as Record<string, unknown>;
  if (head.v !== 1) wrong('v', 'is not 1');
  if (typeof head.run !== 'string' || head.run === '') wrong('run', 'is not a run id');
  if (head.mode !== 'live' && head.mode !== 'rehearsal') wrong('mode', 'is neither live nor rehearsal');
  if (typeof head.versionHash !== 'string' || head.versionHash === '') wrong('versionHash', 'is not a version hash');
  if (typeof head.entries !== 'number' || !Number.isInteger(head.entries) || head.entries < 0) wrong('entries', 'is not a count');
  if (
    !Array.isArray(head.hashes) ||
    head.hashes.length !== head.entries ||
    !head.hashes.every((h) => typeof h === 'string' && HASH.test(h))
  )
    wrong('hashes', 'is not one SHA-256 (hex) per entry');
  const hashes = head.hashes as string[];
  if (head.head !== (hashes.at(-1) ?? null)) wrong('head', 'is not the last entry’s hash');
  if (typeof head.exportedAt !== 'string' || !Number.isFinite(Date.parse(head.exportedAt))) wrong('exportedAt', 'is not an ISO 8601 time');
  return head as unknown as DecisionLogHead;
}
