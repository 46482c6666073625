// Telling a stale package-lock.json from one that only lacks, or gains, builds for other platforms.

function libcHere() {
  if (process.platform !== 'linux') return undefined;
  return process.report?.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
}

function allows(list, value) {
  // npm's os/cpu/libc fields: a list of names, or of negations such as "!win32".
  if (!Array.isArray(list) || value === undefined) return true;
  if (list.includes(value)) return true;
  return list.every((name) => name.startsWith('!')) && !list.includes(`!${value}`);
}

function forOtherPlatform(entry, here) {
  return Boolean(entry?.optional) && !(allows(entry.os, here.platform) && allows(entry.cpu, here.arch) && allows(entry.libc, here.libc));
}

/** True when two package-lock.json texts differ only in optional packages that never install on this platform. */
export function differsOnlyInOtherPlatforms(
  beforeText,
  afterText,
  here = { platform: process.platform, arch: process.arch, libc: libcHere() },
) {
  let before;
  let after;
  try {
    before = JSON.parse(beforeText.toString('utf8'));
    after = JSON.parse(afterText.toString('utf8'));
  } catch {
    return false;
  }
  const { packages: wasPackages = {}, ...wasRest } = before;
  const { packages: nowPackages = {}, ...nowRest } = after;
  if (JSON.stringify(wasRest) !== JSON.stringify(nowRest)) return false;
  for (const key of new Set([...Object.keys(wasPackages), ...Object.keys(nowPackages)])) {
    const was = wasPackages[key];
    const now = nowPackages[key];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    // The parent's optionalDependencies list names every platform build either way; only entries may come and go.
    if (was !== undefined && now !== undefined) return false;
    if (!forOtherPlatform(was ?? now, here)) return false;
  }
  return true;
}
