/**
 * The evidence a gate is decided on, kept current while it is open: what ran, what failed or was skipped, checks and
 * reconciliations, time against plan (run/evidence.ts assembles it), its SHA-256 digest (votes name the digest they
 * were cast on), and the gate's criteria it does not yet meet.
 */
import { CancellationScope, condition } from '@temporalio/workflow';
import { sha256Hex } from '../run/digest.js';
import { assembleEvidence, unmetCriteria, type GateEvidence } from '../run/evidence.js';
import { canonicalJson } from '../run/signed-request.js';
import type { StepState } from '../run/state.js';
import { verifier } from './activity-calls.js';
import type { RunContext } from './run-context.js';

/**
 * Starts the run's one evidence watcher (once): whenever the run changes, it refreshes every open gate's evidence and
 * criteria, and hashes what changed. One watcher rather than a wait per gate: a change then costs one wake-up,
 * however many gates are open (each wait is promises, and the SDK records a stack trace for every one).
 * Never cancelled (a cancelled run's gates stop waiting by themselves); a hash that fails is tried at the next change.
 */
export function watchEvidence(ctx: RunContext): void {
  const evidence = ctx.evidence;
  if (evidence.watching) return;
  evidence.watching = true;
  void CancellationScope.nonCancellable(async () => {
    for (;;) {
      const seen = ctx.revision;
      await condition(() => ctx.revision !== seen && evidence.openGates.size > 0);
      const hashing = [...evidence.openGates].flatMap((id) => refreshEvidence(ctx, ctx.stepOf(id)) ?? []);
      if (hashing.length > 0) await Promise.all(hashing).catch(() => undefined);
    }
  });
}

/**
 * Assembles an open gate's evidence and brings its unmet criteria up to date. Returns what is left to do when the
 * evidence changed (hash it, a local activity: the sandbox has no crypto), and nothing otherwise: every open gate
 * looks each time the run changes, and the SDK records a stack trace for every promise a workflow makes, so the
 * common case (nothing new for this gate) must not make one.
 */
export function refreshEvidence(ctx: RunContext, step: StepState): Promise<void> | undefined {
  const evidence = assembleEvidence(ctx.run, step.id);
  const unmet = unmetCriteria(ctx.def(step.id).gate!.criteria, ctx.run, evidence);
  if (unmet.join('\n') !== (step.gate!.unmetCriteria ?? []).join('\n')) {
    step.gate = { ...step.gate!, unmetCriteria: unmet };
    ctx.touch();
  }
  const text = canonicalJson(evidence);
  if (step.gate!.evidence && ctx.evidence.texts.get(step.id) === text) return undefined;
  if (ctx.patches.hashesHere) {
    ctx.evidence.texts.set(step.id, text);
    const digest = sha256Hex(text);
    if (step.gate!.evidence?.digest !== digest) {
      step.gate = { ...step.gate!, evidence: { ...evidence, digest, at: ctx.now() } };
      ctx.touch();
    }
    return undefined;
  }
  return hashEvidence(ctx, step, evidence, text);
}

/** Hashes evidence with a local activity (executions before the workflow hashed itself). */
async function hashEvidence(ctx: RunContext, step: StepState, evidence: GateEvidence, text: string): Promise<void> {
  const digest = await verifier.chainHash(text);
  ctx.evidence.texts.set(step.id, text);
  if (step.gate!.evidence?.digest === digest) return;
  step.gate = { ...step.gate!, evidence: { ...evidence, digest, at: ctx.now() } };
  ctx.touch();
}
