/**
 * A channel's references (`${env:NAME}`, `${file:path}`) resolved where the message is sent (the worker, or the
 * machine running `cutover notify test`), right before sending. The values go to the receiver and nowhere else: a
 * failure names the reference, never its value.
 */
import { hostname } from 'node:os';
import { isOwnSecret } from '../common/own-secrets.js';
import { cutoverSecretFiles, readSecretFile, SecretReferenceError } from '../common/secret-file.js';
import type { NotificationChannel } from '../runbook/notifications.js';
import { replaceReferences, type SecretReference } from '../runbook/secret-refs.js';

/** Thrown when one delivery fails; `retryable` says whether trying again may help. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** `channel` with every reference replaced by its value; a {@link DeliveryError} (not retryable) names one that is not there. */
export function resolveChannel(channel: NotificationChannel, baseDir: string, env: NodeJS.ProcessEnv): NotificationChannel {
  const read = (reference: SecretReference): string => {
    if (reference.scheme === 'env') {
      if (isOwnSecret(reference.name)) {
        throw new DeliveryError(
          `${reference.text} names one of cutover's own secrets, which a runbook may not read; give the channel a variable of its own`,
          false,
        );
      }
      const value = env[reference.name];
      if (value === undefined || value === '') {
        throw new DeliveryError(
          `${reference.text} is not set on ${hostname()}; set it where the worker (or \`cutover notify test\`) runs`,
          false,
        );
      }
      return value;
    }
    // The same confinement as a step's references: the runbook's folder and CUTOVER_SECRET_DIRS, never /proc.
    try {
      return readSecretFile(reference.text, reference.name, baseDir, cutoverSecretFiles(env), env);
    } catch (err) {
      if (err instanceof SecretReferenceError) throw new DeliveryError(`${err.reference} ${err.reason}`, false);
      throw err;
    }
  };
  const map = (text: string) => replaceReferences(text, read);
  const mapRecord = (record: Record<string, string> | undefined) =>
    record ? Object.fromEntries(Object.entries(record).map(([k, v]) => [k, map(v)])) : undefined;
  switch (channel.kind) {
    case 'webhook':
      return {
        ...channel,
        url: map(channel.url),
        secret: map(channel.secret),
        ...(channel.headers ? { headers: mapRecord(channel.headers) } : {}),
      };
    case 'slack':
    case 'teams':
      return { ...channel, url: map(channel.url) };
    case 'email':
      return {
        ...channel,
        host: map(channel.host),
        ...(channel.user !== undefined ? { user: map(channel.user) } : {}),
        ...(channel.password !== undefined ? { password: map(channel.password) } : {}),
      };
    case 'command':
      return { ...channel, ...(channel.env ? { env: mapRecord(channel.env) } : {}) };
  }
}
