/**
 * The failure converter a worker loads (by path, as the SDK requires) when CUTOVER_PAYLOAD_KEY is
 * set: a failure's message and stack trace (a failed step's detail, with the last line of its
 * output; the reason the workflow itself ends failed or a workflow task fails) move into an
 * encoded payload, which the payload codec then encrypts. Without it they would sit in history as
 * plain text beside the encrypted payloads. Decoding needs no option: the SDK reads encoded
 * attributes wherever they are present.
 *
 * It serves twice: in the worker's main thread for activity failures, and inside the workflow
 * sandbox, where scripts/setup.mjs bundles it into dist/workflow-bundle-encrypted-failures.js.
 * So it imports nothing of Node (the lint rule of the bundled folders covers this file).
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
