/**
 * Where cutover looks for its data and its Temporal, from the environment.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../cli/settings.js';

describe('settings', () => {
  it('defaults to the embedded server and a store under .cutover in the current directory', () => {
    const s = readSettings({}, '/work/crm');
    expect(s).toMatchObject({
      home: '/work/crm/.cutover',
      databaseUrl: 'file:/work/crm/.cutover/cutover.db',
      taskQueue: 'cutover',
      namespace: 'default',
    });
    expect(s.temporalAddress).toBeUndefined();
  });

  it('resolves a relative store path against the current directory', () => {
    expect(readSettings({ CUTOVER_DATABASE_URL: 'file:records/cutover.db' }, '/work/crm').databaseUrl).toBe(
      `file:${path.resolve('/work/crm', 'records/cutover.db')}`,
    );
  });

  it('uses a cluster with TLS and an API key when told to', () => {
    const s = readSettings({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'k' }, '/w');
    expect(s).toMatchObject({ temporalAddress: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', apiKey: 'k', tls: true });
  });

  it('refuses half an mTLS pair and cluster settings without an address', () => {
    expect(() => readSettings({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_CERT: 'c.pem' }, '/w')).toThrow(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together',
    );
    expect(() => readSettings({ TEMPORAL_NAMESPACE: 'prod' }, '/w')).toThrow('TEMPORAL_NAMESPACE needs TEMPORAL_ADDRESS');
  });
});
