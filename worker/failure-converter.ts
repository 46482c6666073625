/**
 * The failure converter a worker loads (by path, as the SDK requires) when CUTOVER_PAYLOAD_KEY is
 * set: a failure's message and stack trace (a failed step's detail, with the last line of its
 * output; the reason the workflow itself ends failed or a workflow task fails) move into an
 * encoded payload, which the payload codec then encrypts. Without it they would sit in history as
 * plain text beside the encrypted payloads. Decoding needs no option: the SDK reads encoded
 * attributes wherever they are present.
 *
 * One kind stays plain: the refusal of an input that arrived unencrypted (run/unencrypted.ts). Its sender has no key,
 * so an encrypted refusal would read "Encoded failure" to them; it is a fixed sentence that holds nothing of the run.
 *
 * It serves twice: in the worker's main thread for activity failures, and inside the workflow
 * sandbox, where scripts/setup.mjs bundles it into dist/workflow-bundle-encrypted-failures.js.
 * So it imports nothing of Node (the lint rule of the bundled folders covers this file).
 */
import { ApplicationFailure, DefaultFailureConverter, type PayloadConverter, type ProtoFailure } from '@temporalio/common';
import { FAILURE_TYPE } from '../run/failures.js';

class EncryptingFailureConverter extends DefaultFailureConverter {
  constructor() {
    super({ encodeCommonAttributes: true });
  }

  override errorToFailure(err: unknown, payloadConverter: PayloadConverter): ProtoFailure {
    if (err instanceof ApplicationFailure && err.type === FAILURE_TYPE.unencryptedInput)
      return { ...this.errorToFailureInner(err, payloadConverter), stackTrace: '' };
    return super.errorToFailure(err, payloadConverter);
  }
}

export const failureConverter = new EncryptingFailureConverter();
