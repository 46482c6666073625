/**
 * A KPI's freshness check against a real HTTP server and a real SQLite file: the latest data time from a JSON field,
 * a plain body or the first value of a query (ISO text or seconds since 1970), and one line when it cannot tell.
 */
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFreshnessActivities } from '../activities/freshness.js';
import type { Kpi } from '../runbook/hypercare.js';
import { sqliteFile } from './support/reconcile-data.js';

const answers: Record<string, [number, string]> = {
  '/json': [200, JSON.stringify({ report: { refreshed_at: '2026-12-07T06:00:00Z' } })],
  '/plain': [200, '2026-12-07 05:30:00\n'],
  '/down': [503, 'maintenance'],
  '/words': [200, JSON.stringify({ report: { refreshed_at: 'yesterday' } })],
};
let server: http.Server;
let base = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const [status, body] = answers[req.url ?? ''] ?? [404, 'no'];
    res.writeHead(status).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const { checkFreshness } = createFreshnessActivities();
const check = (source: Kpi['source'], extra: { dir?: string; connections?: Record<string, never> } = {}) =>
  checkFreshness({ runId: 'r', kpi: { id: 'k', source }, connections: extra.connections ?? {}, baseDir: extra.dir ?? tmpdir() });

describe('checkFreshness', () => {
  it('reads the time from a JSON field, or a whole body', async () => {
    expect(await check({ kind: 'http', url: `${base}/json`, field: 'report.refreshed_at' })).toEqual({
      kpiId: 'k',
      latest: '2026-12-07T06:00:00.000Z',
    });
    expect(await check({ kind: 'http', url: `${base}/plain` })).toEqual({ kpiId: 'k', latest: '2026-12-07T05:30:00.000Z' });
  });

  it('says in one line why it cannot tell', async () => {
    expect(await check({ kind: 'http', url: `${base}/down` })).toEqual({ kpiId: 'k', error: `GET ${base}/down answered HTTP 503` });
    expect(await check({ kind: 'http', url: `${base}/words`, field: 'report.refreshed_at' })).toEqual({
      kpiId: 'k',
      error: `report.refreshed_at of GET ${base}/words gave "yesterday", which is not a time`,
    });
    expect(await check({ kind: 'http', url: `${base}/json`, field: 'report.loaded' })).toEqual({
      kpiId: 'k',
      error: `GET ${base}/json answered without report.loaded`,
    });
  });

  it('takes the first value of a query: seconds since 1970 too; an empty table is no data', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-fresh-'));
    sqliteFile(dir, 'kpi.db', 'CREATE TABLE loads (at INTEGER)', [[1_796_623_200]]);
    const connections = { kpi: { driver: 'sqlite', path: 'kpi.db', readonly: true } } as never;
    expect(await check({ kind: 'sql', connection: 'kpi', query: 'SELECT max(at) FROM loads' }, { dir, connections })).toEqual({
      kpiId: 'k',
      latest: new Date(1_796_623_200_000).toISOString(),
    });
    expect(await check({ kind: 'sql', connection: 'kpi', query: 'SELECT at FROM loads WHERE at < 0' }, { dir, connections })).toEqual({
      kpiId: 'k',
      error: 'the query on kpi found no data',
    });
  });
});
