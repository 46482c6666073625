/**
 * Opens the console on a run in this terminal, and says when the person left it. Leaving never
 * touches the run: it only stops watching.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { render } from 'ink';
import type { RecordStore } from '../../prisma/record-store.js';
import { undeliveredLines } from '../../present/delivery-view.js';
import type { Runbook } from '../../runbook/schema.js';
import type { LiveModel } from '../../timing/live-forecast.js';
import { sendAction } from './actions.js';
import { ConsoleApp } from './ConsoleApp.js';
import { temporalRunSource } from './temporal-run-source.js';
import type { RunSource } from './run-poller.js';

export interface OpenConsoleOptions {
  client?: Client;
  handle?: WorkflowHandle;
  store?: RecordStore;
  runbook?: Runbook;
  identity?: string;
  /** Ctrl-C (the terminal is in raw mode, so no SIGINT comes). */
  onInterrupt: () => void;
  /** For a run Temporal cannot be asked about: where to read it instead. */
  source?: RunSource;
  /** The runbook's fitted night, for the live re-forecast in the header. */
  forecastModel?: LiveModel;
}

/** The open console: `closed` settles when the person leaves (q); `close` takes it off the screen. */
export interface ConsoleHandle {
  closed: Promise<void>;
  close: () => void;
}

/** Whether a command should open the console: a terminal on both sides, not `--plain`, not CI. */
export function wantsConsole(plain: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return !plain && !ci && process.stdout.isTTY === true && process.stdin.isTTY === true;
}

export function openConsole(options: OpenConsoleOptions): ConsoleHandle {
  const { client, handle } = options;
  const source = options.source ?? temporalRunSource(client!, handle!, options.store);
  const store = options.store;
  // Made once: the console reads it again every few seconds.
  const undelivered = store && handle ? () => undeliveredLines(store, handle.workflowId, { withReasons: false }) : undefined;
  let leave!: () => void;
  const closed = new Promise<void>((resolve) => (leave = resolve));
  const instance = render(
    <ConsoleApp
      source={source}
      send={(action) =>
        client && handle
          ? sendAction(handle, action)
          : Promise.resolve({ ok: false, message: 'the run cannot be reached to send requests' })
      }
      {...(options.runbook ? { runbook: options.runbook } : {})}
      {...(options.identity ? { identity: options.identity } : {})}
      {...(options.forecastModel ? { forecastModel: options.forecastModel } : {})}
      {...(undelivered ? { undelivered } : {})}
      onQuit={() => leave()}
      onInterrupt={options.onInterrupt}
    />,
    // Ctrl-C is the command's to handle (a rehearsal stops hosting its run in good order), not Ink's.
    { exitOnCtrlC: false, patchConsole: false, maxFps: 20 },
  );
  let gone = false;
  return {
    closed,
    close: () => {
      if (gone) return;
      gone = true;
      instance.unmount();
      // Ink leaves the cursor at the end of its last line: what the command says next starts on its own.
      process.stdout.write('\n');
    },
  };
}
