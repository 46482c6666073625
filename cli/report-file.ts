/**
 * Where a report goes: standard output, or with `--out` a file written whole or not at all (the lead sends what
 * they wrote; a half-written report must never be).
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';

/** Writes the whole file or nothing: a temporary file beside it, then a rename. */
export function writeAtomically(file: string, text: string | Uint8Array): void {
  const temporary = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${file} (${code ?? (err as Error).message}); pick a folder you can write to`);
  }
}

/** Prints `text`, or writes it to `file` and says so on standard error; the command's exit code. */
export function deliverReport(text: string, file: string | undefined, out: Output): number {
  if (file === undefined) {
    out.raw(text);
    return EXIT.ok;
  }
  writeAtomically(file, text);
  out.warn(`wrote ${file}`);
  return EXIT.ok;
}
