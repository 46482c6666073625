/**
 * The status page when things go wrong: a store that fails answers a generic sentence (the stack goes to the log,
 * never to the browser), a taken port is one sentence, and the live page's event stream answers an unknown run and a
 * malformed `Last-Event-ID` in words.
 */
import { describe, expect, it, vi } from 'vitest';
import type { WebDeps } from '../web/create-app.js';
import { serveStatusPage, StatusPageListenError } from '../web/server.js';

const broken: WebDeps['store'] = {
  listRuns: async () => {
    throw new Error('SQLITE_CORRUPT in /srv/secret/cutover.db');
  },
  findRun: async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'secretField')");
  },
  reconcileResults: async () => {
    throw new Error('SQLITE_CORRUPT in /srv/secret/cutover.db');
  },
};

const empty: WebDeps['store'] = { listRuns: async () => [], findRun: async () => null, reconcileResults: async () => [] };

describe('failures', () => {
  it('answers 500 with a generic sentence and logs the stack, never sending it', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const failing = await serveStatusPage({ port: 0, store: broken });
    try {
      const sentence = 'Something went wrong on the status page while answering this request; the details are in its log.';
      for (const pathname of ['/api/runs', '/api/runs/web-crm-1', '/runs/web-crm-1/events']) {
        const answer = await fetch(`${failing.url}${pathname}`);
        expect(answer.status).toBe(500);
        expect(await answer.json()).toEqual({ error: sentence });
      }
      for (const pathname of ['/', '/runs/web-crm-1']) {
        const answer = await fetch(`${failing.url}${pathname}`);
        expect(answer.status).toBe(500);
        const body = await answer.text();
        expect(body).toContain(sentence);
        expect(body).not.toMatch(/secret|SQLITE_CORRUPT|\bat .*\.(ts|js):\d+/);
      }
      const log = logged.mock.calls.flat().join('\n');
      expect(log).toContain('SQLITE_CORRUPT in /srv/secret/cutover.db');
      expect(log).toMatch(/\n\s+at .*web-failures\.test\.ts/);
    } finally {
      await failing.close();
      logged.mockRestore();
    }
  });

  it('says so when the port is taken', async () => {
    const page = await serveStatusPage({ port: 0, store: empty });
    try {
      const port = Number(new URL(page.url).port);
      const attempt = serveStatusPage({ port, store: empty });
      await expect(attempt).rejects.toBeInstanceOf(StatusPageListenError);
      await expect(attempt).rejects.toThrow(
        `the status page cannot listen on 127.0.0.1:${port}: the port is in use by another program; choose another with --port`,
      );
    } finally {
      await page.close();
    }
  });

  it("answers an unknown run's event stream with a 404 sentence", async () => {
    const page = await serveStatusPage({ port: 0, store: empty, liveState: async () => undefined });
    try {
      const answer = await fetch(`${page.url}/runs/no-such-run/events`, { headers: { accept: 'text/event-stream' } });
      expect(answer.status).toBe(404);
      expect(await answer.json()).toEqual({ error: 'there is no run `no-such-run`' });
    } finally {
      await page.close();
    }
  });
});
