/**
 * Where a report goes: standard output, or with `--out` a file written whole or not at all (the lead sends what
 * they wrote; a half-written report must never be).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { EXIT, UsageError } from './errors.js';
import type { Output } from './output.js';

/**
 * The mode a report is written with: readable by its owner only. Reports hold what the runs met (differing rows of
 * production data, step outputs, people's reasons); whoever wrote one shares it on purpose (`chmod`, a mail), rather
 * than the umask sharing it with every account on the machine.
 */
export const REPORT_FILE_MODE = 0o600;

/** How often a temporary name is drawn again when one is taken: a clash of 64 random bits is not bad luck. */
const NAME_TRIES = 3;

/**
 * Writes the whole file or nothing: a temporary file beside it, then a rename. The temporary file has a name nobody can
 * guess (64 random bits) and is created exclusively (`O_CREAT | O_EXCL`, which never follows a symbolic link), so a link
 * planted in a shared folder cannot redirect the write; it is created with {@link REPORT_FILE_MODE}, so the report is
 * never readable by others, not even for a moment. The rename replaces the target itself, never what a link there
 * points at.
 */
export function writeAtomically(file: string, text: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  let temporary: string | undefined;
  try {
    let fd: number | undefined;
    for (let attempt = 1; fd === undefined; attempt += 1) {
      const name = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
      try {
        fd = openSync(name, 'wx', REPORT_FILE_MODE);
        temporary = name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= NAME_TRIES) throw err;
      }
    }
    try {
      const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary!, file);
  } catch (err) {
    // Only the file this call created: never one that was there before.
    if (temporary) rmSync(temporary, { force: true });
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
