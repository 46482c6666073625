/**
 * How tests reach the Temporal server that `global-setup.ts` started for the whole run (or the one that
 * `TEMPORAL_ADDRESS` names).
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** gRPC address of the Temporal server for this test run. */
    temporalAddress: string;
    /** Namespace tests use on that server. */
    temporalNamespace: string;
    /** The workflow code bundled once for the whole run (workflow-harness.ts reads it). */
    workflowBundlePath: string;
  }
}

/** gRPC address (`host:port`) of the Temporal server shared by this test run. */
export function temporalAddress(): string {
  return inject('temporalAddress');
}

/** Namespace on {@link temporalAddress} that tests use (`TEMPORAL_NAMESPACE`, else `default`). */
export function temporalNamespace(): string {
  return inject('temporalNamespace');
}
