/**
 * Every message a run answers, defined once with explicit types. Clients (CLI, web) import
 * this module; it loads no workflow code.
 *
 * People change a run through Updates with validators: the caller gets an answer, and a
 * refused request (wrong person, closed gate, second vote) never enters the history.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  BackoutState,
  GateState,
  RunState,
  StepState,
} from '../runbook/run-state.js';
import type {
  BackoutRequest,
  ManualDoneRequest,
  ResolveRequest,
  VoteRequest,
} from '../runbook/transitions.js';

export type { BackoutRequest, ManualDoneRequest, ResolveRequest, VoteRequest };

/** The whole live state of the run: everything the console and status page draw. */
export const runStateQuery = defineQuery<RunState>('runState');

/** An approver votes go on an open gate; answers the gate after the vote. */
export const approveGateUpdate = defineUpdate<GateState, [VoteRequest]>('approveGate');

/** An approver votes no-go on an open gate (reason required); the run backs out. */
export const rejectGateUpdate = defineUpdate<GateState, [VoteRequest]>('rejectGate');

/** The step's owner marks a manual step (or a manual back-out) done. */
export const completeManualStepUpdate = defineUpdate<StepState, [ManualDoneRequest]>('completeManualStep');

/** The lead backs the run out, with a reason. */
export const requestBackoutUpdate = defineUpdate<BackoutState, [BackoutRequest]>('requestBackout');

/** The lead resolves a failed step or back-out: retry it, or record it done by hand. */
export const resolveStepUpdate = defineUpdate<StepState, [ResolveRequest]>('resolveStep');

/** The workflow type clients start; one execution per run. */
export const RUN_WORKFLOW_TYPE = 'runRunbook';
