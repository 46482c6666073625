/**
 * Where cutover looks for its data and its Temporal, from the environment.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectSettings, readSettings } from '../cli/settings.js';
import { namespaceProblem } from '../cli/temporal.js';

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

  it('takes the address forms the SDK takes, and refuses a URL or a bad port in one sentence naming TEMPORAL_ADDRESS', () => {
    for (const good of [
      'temporal.example.com:7233',
      'localhost',
      '10.0.0.5:7233',
      '[::1]:7233',
      'temporal_frontend:7233',
      'ns.acct.tmprl.cloud:7233',
    ]) {
      expect(readSettings({ TEMPORAL_ADDRESS: good }, '/w').temporalAddress).toBe(good);
    }
    for (const bad of ['http://temporal:7233', 'temporal:0', 'temporal:70000', 'temporal:', 'tem poral:7233', ':7233']) {
      expect(() => readSettings({ TEMPORAL_ADDRESS: bad }, '/w')).toThrow(`TEMPORAL_ADDRESS \`${bad}\` is not host:port`);
    }
  });

  it('configuration errors are EnvironmentErrors: exit 6', () => {
    for (const env of [
      { TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_KEY: 'k.pem' },
      { TEMPORAL_API_KEY: 'k' },
      { TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS: 'yes' },
      { CUTOVER_PAYLOAD_KEY: 'short' },
    ]) {
      expect(() => readSettings(env, '/w')).toThrow(expect.objectContaining({ name: 'EnvironmentError', exitCode: 6 }) as Error);
    }
  });

  it('lists every wrong setting for doctor, each falling back to its default so the other checks still run', () => {
    const { settings, problems } = inspectSettings(
      {
        CUTOVER_DATABASE_URL: 'mysql://db/cutover',
        TEMPORAL_ADDRESS: 'https://t:7233',
        TEMPORAL_TLS_CERT: 'c.pem',
        CUTOVER_PAYLOAD_KEY: 'x',
      },
      '/w',
    );
    expect(problems.map((p) => p.setting)).toEqual(['CUTOVER_DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_TLS_KEY', 'CUTOVER_PAYLOAD_KEY']);
    for (const problem of problems) expect(problem.message).toContain(problem.setting);
    expect(settings).toMatchObject({ home: '/w/.cutover', namespace: 'default', taskQueue: 'cutover' });
    expect(settings.temporalAddress).toBeUndefined();
    expect(settings.payloadKey).toBeUndefined();
  });

  it('a namespace the credentials may not see names TEMPORAL_API_KEY and the client certificate', () => {
    const denied = Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
    expect(namespaceProblem(denied, 'prod', 't:7233')).toBe(
      'Temporal at t:7233 refused access to namespace prod (7 PERMISSION_DENIED: Request unauthorized.); check TEMPORAL_API_KEY or the client certificate in TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY, and TEMPORAL_NAMESPACE',
    );
  });
});
