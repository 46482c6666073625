/**
 * SHA-256 of a text, in hex, computed in plain JavaScript (@noble/hashes, audited), so the workflow can hash its
 * decision log and gate evidence itself: its sandbox has no `crypto`, and a local activity for each hash made every
 * decision and evidence change cost a round trip through the worker, and a resolution whose workflow time is not the
 * same when the run is replayed. The same digest as Node's `createHash('sha256')` (tested); signatures are still
 * checked with Node's crypto, in a local activity.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** SHA-256 of `text` (UTF-8), lower-case hex. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}
