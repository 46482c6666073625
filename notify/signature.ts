/**
 * The generic webhook's signature: HMAC-SHA256, keyed with the channel's secret, over `TIMESTAMP.BODY`, sent as
 * `X-Cutover-Signature: sha256=HEX` with `X-Cutover-Timestamp: TIMESTAMP` (Unix seconds). A receiver recomputes it
 * over the raw body and refuses a timestamp too far from its clock, so a captured request cannot be replayed later
 * (docs/notifications.md shows a receiver).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Cutover-Signature';
export const TIMESTAMP_HEADER = 'X-Cutover-Timestamp';
export const IDEMPOTENCY_HEADER = 'X-Cutover-Idempotency-Key';

/** `sha256=HEX` over `timestamp.body`. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does: true when `signature` is the HMAC of `timestamp.body` and the timestamp is within
 * `toleranceSeconds` of `nowSeconds`.
 */
export function verifySignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
