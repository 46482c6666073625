/** Whether an address is this machine's own: the page decides what it may serve in plain HTTP with it. */
import { isIP } from 'node:net';

/** True for addresses only this machine can reach: `localhost`, 127.0.0.0/8, ::1 (bracketed or not). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(bare) || /^::ffff:127\./.test(bare);
  return false;
}
