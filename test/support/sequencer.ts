/**
 * The order vitest starts the test files in. Vitest runs the files it has timings for longest first, but a fresh
 * clone has none, and then it starts the largest files first: a short file that waits a long time (a worker killed,
 * a lock held 30 s) started last and the run ended on it, one file busy and two cores idle for most of a minute.
 * The files that take longest on a loaded 2-core machine start first, slowest first (measured on fresh clones:
 * vitest prints each file's time); the rest follow in vitest's own order. A file missing from the list costs only
 * that it may start late.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOWEST_FIRST = [
  'bench-smoke',
  'cli-workers',
  'cli-doctor',
  'cli-errors',
  'notify-late-timers',
  'web-passkeys',
  'cli-pools',
  'cli-server-lifetime',
  'console-reconnect',
  'faults-store-lock',
  'activities-http-timeout',
  'faults-every-step',
  'cli-embedded',
  'cli-hypercare',
  'cli-events',
  'faults-worker-kill',
  'workflow-scale',
  'workflow-run',
  'workflow-gate-snapshot',
  'workflow-store',
  'cli-init',
  'console-tmux',
  'cli-keys',
  'workflow-hypercare-30-days',
  'notify-run',
  'store',
  'faults-hypercare',
];

function rank(file: TestSpecification): number {
  const name = /([^/\\]+)\.test\.tsx?$/.exec(file.moduleId)?.[1] ?? '';
  const index = SLOWEST_FIRST.indexOf(name);
  return index === -1 ? SLOWEST_FIRST.length : index;
}

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    // Array.prototype.sort is stable: the unlisted files keep vitest's order behind the listed ones.
    return rest.sort((a, b) => rank(a) - rank(b));
  }
}
