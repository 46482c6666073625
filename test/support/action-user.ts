/** The unprivileged user tests run a runbook's commands as (CUTOVER_ACTION_USER), created when missing; needs root. */
import { execFileSync } from 'node:child_process';

export const ACTION_USER = 'cutover-action';

/** Creates {@link ACTION_USER} unless it exists (`useradd --system`, no home, no login shell). */
export function ensureActionUser(): void {
  try {
    execFileSync('id', ['-u', ACTION_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ACTION_USER]);
  }
}
