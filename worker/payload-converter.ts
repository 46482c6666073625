/**
 * The payload converter a worker loads (by path, as the SDK requires) when CUTOVER_PAYLOAD_KEY is set: the SDK's own,
 * which also tells the workflow which of its inputs arrived unencrypted. The worker's codec marks such a payload
 * (common/payload-codec.ts); this converter gives the object it decodes to a hidden property
 * ({@link UNENCRYPTED_PROPERTY}: not enumerable, so not in its JSON, its keys or a copy), and the run refuses a start or
 * an Update that has it (run/unencrypted.ts).
 *
 * It serves twice: in the worker's main thread for activities, and inside the workflow sandbox, where
 * scripts/setup.mjs bundles it into dist/workflow-bundle-encrypted-failures.js. So it imports nothing of Node (the lint
 * rule of the bundled folders covers this file).
 */
import { defaultPayloadConverter, type Payload, type PayloadConverter } from '@temporalio/common';
import { UNENCRYPTED_PROPERTY } from '../run/unencrypted.js';

/** Metadata the worker's codec sets (common/payload-codec.ts names it; not imported: that module uses Node). */
const UNENCRYPTED_MARK = 'cutover-unencrypted';

class MarkingPayloadConverter implements PayloadConverter {
  toPayload<T>(value: T): Payload {
    return defaultPayloadConverter.toPayload(value);
  }

  fromPayload<T>(payload: Payload): T {
    const value = defaultPayloadConverter.fromPayload<T>(payload);
    if (payload.metadata?.[UNENCRYPTED_MARK] && value !== null && typeof value === 'object' && Object.isExtensible(value))
      Object.defineProperty(value, UNENCRYPTED_PROPERTY, { value: true, enumerable: false });
    return value;
  }
}

export const payloadConverter: PayloadConverter = new MarkingPayloadConverter();
