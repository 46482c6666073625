/**
 * The names of cutover's own secrets (Temporal credentials, the database URL, the payload key, the status page's
 * token, the signing key's passphrase): neither a step's command nor a `${env:...}` reference in a runbook (a step's
 * or a notification channel's) may read them. Shared by the activities and notification delivery.
 */
const CUTOVER_SECRETS = /^(TEMPORAL_(API_KEY|TLS_.*)|CUTOVER_DATABASE_URL|CUTOVER_PAYLOAD_KEY|CUTOVER_WEB_TOKEN|CUTOVER_KEY_PASSPHRASE)$/;

/** True for the names of cutover's own secrets, which neither commands nor `${env:...}` references see. */
export function isCutoverSecret(name: string): boolean {
  return CUTOVER_SECRETS.test(name);
}
