import { describe, expect, it } from 'vitest';
import { differsOnlyInOtherPlatforms } from '../scripts/lock-compare.mjs';

// Setup installs with `npm install` when `npm ci` refuses a lock; whether the lock npm then writes is "the same tree"
// decides between going on and telling the user to commit a new lock.
const linux = { platform: 'linux', arch: 'x64', libc: 'glibc' };

function lock(packages: Record<string, object>, rest: object = {}): string {
  return JSON.stringify({ name: 'cutover', lockfileVersion: 3, requires: true, ...rest, packages }, null, 2);
}

const root = { '': { name: 'cutover', dependencies: { '@swc/core': '1.16.22' } } };
const swc = { 'node_modules/@swc/core': { version: '1.16.22', optionalDependencies: { '@swc/core-darwin-arm64': '1.16.22' } } };
const linuxBuild = {
  'node_modules/@swc/core-linux-x64-gnu': { version: '1.16.22', optional: true, os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
};
const darwinBuild = { 'node_modules/@swc/core-darwin-arm64': { version: '1.16.22', optional: true, os: ['darwin'], cpu: ['arm64'] } };

describe('a lock npm install rewrote', () => {
  it('is the same tree when it only gains or loses builds for other platforms', () => {
    const committed = lock({ ...root, ...swc, ...linuxBuild });
    const rewritten = lock({ ...root, ...swc, ...linuxBuild, ...darwinBuild });
    expect(differsOnlyInOtherPlatforms(committed, rewritten, linux)).toBe(true);
    expect(differsOnlyInOtherPlatforms(Buffer.from(rewritten), Buffer.from(committed), linux)).toBe(true);
  });

  it('is the same tree when the only new build is for the other libc or a negated platform', () => {
    const musl = {
      'node_modules/@swc/core-linux-x64-musl': { version: '1.16.22', optional: true, os: ['linux'], cpu: ['x64'], libc: ['musl'] },
    };
    const notLinux = { 'node_modules/fsevents-like': { version: '1.0.0', optional: true, os: ['!linux'] } };
    expect(differsOnlyInOtherPlatforms(lock({ ...root }), lock({ ...root, ...musl, ...notLinux }), linux)).toBe(true);
  });

  it('is stale when a build for this platform appears', () => {
    expect(differsOnlyInOtherPlatforms(lock({ ...root, ...swc }), lock({ ...root, ...swc, ...linuxBuild }), linux)).toBe(false);
    // The same change seen from a Mac is harmless there.
    expect(
      differsOnlyInOtherPlatforms(lock({ ...root, ...swc }), lock({ ...root, ...swc, ...linuxBuild }), {
        platform: 'darwin',
        arch: 'arm64',
      }),
    ).toBe(true);
  });

  it('is stale when a package changes version, a dependency is added, or the header changes', () => {
    const base = lock({ ...root, ...swc });
    const bumped = lock({ ...root, 'node_modules/@swc/core': { ...swc['node_modules/@swc/core'], version: '1.16.23' } });
    const added = lock({ ...root, ...swc, 'node_modules/left-pad': { version: '1.3.0' } });
    const renamed = lock({ ...root, ...swc }, { name: 'cutover-next' });
    expect(differsOnlyInOtherPlatforms(base, bumped, linux)).toBe(false);
    expect(differsOnlyInOtherPlatforms(base, added, linux)).toBe(false);
    expect(differsOnlyInOtherPlatforms(base, renamed, linux)).toBe(false);
  });

  it('is stale when either text is not JSON', () => {
    expect(differsOnlyInOtherPlatforms('{', lock({ ...root }), linux)).toBe(false);
  });
});
