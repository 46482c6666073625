/**
 * A real terminal for end-to-end tests: a tmux server of the test's own (its own socket, so tests
 * never touch a person's sessions), windows running commands, keys sent, screens captured as text.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export class Tmux {
  readonly socket = `cutover-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  #started = false;

  constructor(
    readonly width = 120,
    readonly height = 40,
  ) {}

  #tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /**
   * Runs `command` (argv) with `env` in a new window `name`, from `cwd`. The window stays after the
   * command ends, showing its exit code as `EXIT=N`.
   */
  open(name: string, command: string[], env: Record<string, string>, cwd: string, scriptDir: string): void {
    const script = path.join(scriptDir, `${name}.sh`);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        // Only what the test gives: the same isolation as the CLI tests' child processes.
        'for v in $(env | sed -n "s/^\\(CUTOVER_[A-Z0-9_]*\\|TEMPORAL_[A-Z0-9_]*\\|CI\\)=.*/\\1/p"); do unset "$v"; done',
        ...Object.entries(env)
          .filter(([k]) => /^(CUTOVER_|TEMPORAL_)/.test(k))
          .map(([k, v]) => `export ${k}=${quote(v)}`),
        `cd ${quote(cwd)}`,
        `${command.map(quote).join(' ')}`,
        'echo "EXIT=$?"',
        'sleep 600',
      ].join('\n'),
      { mode: 0o755 },
    );
    if (!this.#started) {
      this.#tmux('new-session', '-d', '-s', 'e2e', '-n', name, '-x', String(this.width), '-y', String(this.height), script);
      this.#started = true;
    } else {
      this.#tmux('new-window', '-d', '-t', 'e2e', '-n', name, script);
    }
  }

  /** Keys as tmux names them (`Enter`, `Escape`, `BSpace`) or literal text (`literal: true`). */
  keys(name: string, keys: string, literal = false): void {
    this.#tmux('send-keys', '-t', `e2e:${name}`, ...(literal ? ['-l'] : []), keys);
  }

  /**
   * Sends keys in one piece, as tmux names them (`Enter`, `Escape`) or as text: the program reads them in
   * one go, as it does what a quick typist typed while it was off a busy CPU.
   */
  burst(name: string, ...keys: string[]): void {
    this.#tmux('send-keys', '-t', `e2e:${name}`, ...keys);
  }

  /** Types `text`, then Enter. */
  line(name: string, text: string): void {
    if (text) this.keys(name, text, true);
    this.keys(name, 'Enter');
  }

  screen(name: string): string {
    return this.#tmux('capture-pane', '-p', '-t', `e2e:${name}`);
  }

  /** Waits until the window's screen matches, and returns it. */
  async waitFor(name: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = this.screen(name);
      if (pattern.test(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${pattern} in tmux window ${name}; it shows:\n${last}`);
  }

  kill(): void {
    if (!this.#started) return;
    try {
      this.#tmux('kill-server');
    } catch {
      // Already gone.
    }
  }
}
