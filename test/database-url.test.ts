/**
 * The one rule for where the record store is (prisma/database-url.ts), which the CLI, the store and
 * the Prisma CLI's configuration all use.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact } from '../lib/redact.js';
import { databaseLocation, parseDatabaseUrl } from '../prisma/database-url.js';
import { readSettings } from '../cli/settings.js';
import { StoreUrlError } from '../prisma/store-errors.js';

describe('databaseLocation', () => {
  it('defaults to cutover.db in CUTOVER_HOME, relative to the working directory', () => {
    expect(databaseLocation({}, '/srv/crm')).toMatchObject({ provider: 'sqlite', path: '/srv/crm/.cutover/cutover.db' });
    expect(databaseLocation({ CUTOVER_HOME: 'data' }, '/srv/crm')).toMatchObject({ url: 'file:/srv/crm/data/cutover.db' });
  });

  it('reads file: URLs and plain paths as SQLite files, relative to the working directory', () => {
    expect(parseDatabaseUrl('file:records/c.db', '/srv/crm')).toMatchObject({
      provider: 'sqlite',
      path: path.resolve('/srv/crm/records/c.db'),
    });
    expect(parseDatabaseUrl('file:///var/c.db?mode=rwc', '/srv/crm')).toMatchObject({ path: '/var/c.db' });
    expect(parseDatabaseUrl('/var/c.db')).toMatchObject({ provider: 'sqlite', path: '/var/c.db' });
  });

  it('reads postgres:// and postgresql:// as PostgreSQL, and never shows the password', () => {
    const location = parseDatabaseUrl('postgres://cutover:s3cr%40t@db.internal:5432/cutover');
    expect(location).toMatchObject({
      provider: 'postgresql',
      database: 'cutover',
      display: 'postgres://cutover:***@db.internal:5432/cutover',
    });
    expect(parseDatabaseUrl('postgresql://db.internal/records')).toMatchObject({ provider: 'postgresql', database: 'records' });
  });

  it('gives node-postgres libpq’s meaning of sslmode', () => {
    const location = parseDatabaseUrl('postgresql://u:p@db/cutover?sslmode=require');
    expect(location.provider === 'postgresql' && new URL(location.connectionString).searchParams.get('uselibpqcompat')).toBe('true');
    expect(location.url).toBe('postgresql://u:p@db/cutover?sslmode=require');
  });

  it('refuses malformed URLs with a sentence that names the setting', () => {
    for (const url of [
      'postgresql://u:p@db:5432',
      'postgresql://u:p@db/c?sslmode=sometimes',
      'mysql://db/c',
      'file:',
      'postgresql://u:p@[db/c',
    ]) {
      expect(() => parseDatabaseUrl(url)).toThrow(StoreUrlError);
      expect(() => parseDatabaseUrl(url)).toThrow(/^CUTOVER_DATABASE_URL /);
      expect(() => parseDatabaseUrl(url)).not.toThrow(/:p@/);
    }
  });

  it('is the rule the CLI settings use', () => {
    const settings = readSettings({ CUTOVER_DATABASE_URL: 'postgresql://u:pw@db/cutover' }, '/srv/crm');
    expect(settings).toMatchObject({ databaseUrl: 'postgresql://u:pw@db/cutover', databaseDisplay: 'postgresql://u:***@db/cutover' });
    // A malformed URL is kept for the store to refuse (exit 6) when a command opens it.
    expect(readSettings({ CUTOVER_DATABASE_URL: 'mysql://u:pw@db/c' }, '/srv/crm').databaseDisplay).toBe('mysql://u:***@db/c');
    expect(redact('postgresql://db/cutover')).toBe('postgresql://db/cutover');
  });
});

describe('redact', () => {
  it('hides the password of a URL, whatever characters it holds, and a password given as a parameter', () => {
    expect(redact('postgresql://cutover:s3cret@db:5432/cutover')).toBe('postgresql://cutover:***@db:5432/cutover');
    // Written unencoded, as people paste them: `/` and `@` inside the password.
    expect(redact('postgresql://cutover:pa/ss@db/cutover')).toBe('postgresql://cutover:***@db/cutover');
    expect(redact('postgresql://cutover:p@ss@db/cutover')).toBe('postgresql://cutover:***@db/cutover');
    expect(redact('postgresql://cutover:a/b@c?d@db/cutover?sslmode=require')).toBe('postgresql://cutover:***@db/cutover?sslmode=require');
    // libpq's keyword form in the query string.
    expect(redact('postgresql://db/cutover?user=cutover&password=s3cret&sslmode=require')).toBe(
      'postgresql://db/cutover?user=cutover&password=***&sslmode=require',
    );
    expect(redact('postgres://db/c?sslpassword=k3y&PASSWORD=x%2Fy')).toBe('postgres://db/c?sslpassword=***&PASSWORD=***');
    expect(redact('file:records/c.db')).toBe('file:records/c.db');
    expect(redact('postgresql://cutover@db/cutover')).toBe('postgresql://cutover@db/cutover');
  });
});
