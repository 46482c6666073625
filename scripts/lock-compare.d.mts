/** The platform a lock is installed on, as npm's os, cpu and libc fields name it. */
export interface Platform {
  platform: string;
  arch: string;
  libc?: string | undefined;
}

export function differsOnlyInOtherPlatforms(beforeText: Buffer | string, afterText: Buffer | string, here?: Platform): boolean;
