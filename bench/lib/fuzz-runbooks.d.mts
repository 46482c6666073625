// Types of fuzz-runbooks.mjs, for the TypeScript tests that import it.
import type { Arbitrary } from 'fast-check';

/** A parser with the shape of `parseRunbook` from runbook/parse.ts. */
export type ParseFunction = (text: string, file: string) => unknown;

/** One input that broke the property, with what replays it: `fc.assert(property, { seed, path })`. */
export interface FuzzCrash {
  seed: number;
  path: string;
  /** The input, cut to its first 500 characters. */
  input: string;
  error: string;
}

export interface FuzzFigures {
  seed: number;
  runs: number;
  accepted: number;
  rejected: number;
  crashes: FuzzCrash[];
  /** Wall time of the whole run. */
  ms: number;
  /** The input that took longest to parse and validate. */
  slowest: { ms: number; characters: number };
}

export interface FuzzOptions {
  runs: number;
  seed?: number;
  distDir?: string;
  parseRunbook?: ParseFunction;
  arbitrary?: Arbitrary<string>;
}

export function fuzzRunbooks(options: FuzzOptions): Promise<FuzzFigures>;
export function violation(text: string, parse: ParseFunction): string | undefined;
export function judge(text: string, parse: ParseFunction): { ok?: boolean; violation: string | undefined };
export function loadParser(distDir?: string): Promise<ParseFunction>;
export function aliasBomb(levels: number, fanout: number, where?: 'top' | 'roles'): string;
export function hugeRunbook(steps: number, options?: { phases?: number; breakAt?: number; breakWith?: string }): string;
export function deepText(
  depth: number,
  how: 'flow-seq' | 'flow-map' | 'unclosed' | 'block-seq' | 'block-map' | 'compact-seq' | 'roles',
): string;

export const validRunbook: Arbitrary<Record<string, unknown>>;
export const validText: Arbitrary<string>;
export const mutatedText: Arbitrary<string>;
export const malformedText: Arbitrary<string>;
export const unicodeText: Arbitrary<string>;
export const hugeText: Arbitrary<string>;
export const nestedText: Arbitrary<string>;
export const anyRunbookText: Arbitrary<string>;
export const arbitraries: {
  validText: Arbitrary<string>;
  mutatedText: Arbitrary<string>;
  malformedText: Arbitrary<string>;
  unicodeText: Arbitrary<string>;
  hugeText: Arbitrary<string>;
  deepText: Arbitrary<string>;
  anyRunbookText: Arbitrary<string>;
};
