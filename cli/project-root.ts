/**
 * The directory cutover is installed in (where `.tools/` and `dist/` live), found the same way
 * the record store finds its migrations, so it works from sources and from `dist/`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { findProjectRoot } from '../prisma/paths.js';

let cached: string | undefined;

/** The project root: the nearest parent with a package.json named `cutover`. */
export function projectRoot(): string {
  return (cached ??= findProjectRoot());
}

/** cutover's own version, from package.json. */
export function cutoverVersion(): string {
  return (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
