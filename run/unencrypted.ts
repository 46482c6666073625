/**
 * Inputs that arrived unencrypted at a worker that holds CUTOVER_PAYLOAD_KEY (issue 17): such a worker takes only
 * encrypted starts and Updates, so that nobody with namespace access but without the key (the stock `temporal` CLI,
 * an SDK client without the codec) can start or steer a run. Pure: the workflow bundle imports it.
 */

/** The hidden property worker/payload-converter.ts gives an object that arrived unencrypted. */
export const UNENCRYPTED_PROPERTY = 'cutoverUnencrypted';

/** Whether `value` arrived unencrypted at a worker with the key. */
export function arrivedUnencrypted(value: unknown): boolean {
  return value !== null && typeof value === 'object' && (value as Record<string, unknown>)[UNENCRYPTED_PROPERTY] === true;
}

/** Why a start or an Update that arrived unencrypted is refused: one sentence, saying what to use. */
export function unencryptedRefusal(what: 'start' | 'request'): string {
  return (
    `this ${what} arrived unencrypted, and the run's workers hold CUTOVER_PAYLOAD_KEY, so they take only encrypted ones: ` +
    `send it with cutover, or with the temporal CLI through \`cutover codec-server\` (--codec-endpoint and --codec-auth)`
  );
}
