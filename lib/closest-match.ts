/**
 * "Did you mean" for people's typos: the closest of a list of known words to an unknown one. Used by every reader
 * of a YAML document (runbooks, reconciliation configs) and by the runbook's own rules. Pure.
 */

/** What is left of the comparisons a caller allows its hints (they stop when it is spent). */
export interface HintBudget {
  left: number;
}

/**
 * The closest of `candidates` to `word`, for "did you mean" hints, or undefined when none is
 * close enough to be a likely typo (edit distance, with swapped neighbours counting once, of at
 * most a third of the word's length and at least 1; case is ignored). With a `budget`, each
 * comparison spends one, and none is made (and no hint given) once it is spent.
 */
export function closestMatch(word: string, candidates: Iterable<string>, budget?: HintBudget): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  // Only strictly better candidates replace `best`, so the first of equals wins.
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const other = candidate.toLowerCase();
    // The distance is at least the difference in length: most candidates end here.
    if (Math.abs(other.length - lower.length) >= bestDistance) continue;
    if (budget) {
      if (budget.left <= 0) return undefined;
      budget.left -= 1;
    }
    const distance = editDistance(lower, other, bestDistance - 1);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions), or some number
 * above `max` as soon as the distance is known to exceed it.
 */
function editDistance(a: string, b: string, max: number): number {
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    // Every later row is at least this row's smallest entry (a transposition looks back two
    // rows, but costs one more than that row's entry, which was itself counted then).
    if (rowMin > max) return max + 1;
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length]!;
}
