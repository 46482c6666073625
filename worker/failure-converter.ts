/**
 * The failure converter a worker loads (by path, as the SDK requires) when CUTOVER_PAYLOAD_KEY is
 * set: an activity failure's message and stack trace (a failed step's detail, with the last line
 * of its output) move into an encoded payload, which the payload codec then encrypts. Without
 * it they would sit in history as plain text beside the encrypted payloads. Decoding needs no
 * option: the SDK reads encoded attributes wherever they are present.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
