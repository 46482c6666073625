/**
 * Every message a run answers, defined once with explicit types. Clients (CLI, web) import
 * this module; it loads no workflow code.
 *
 * People change a run through Updates with validators: the caller gets an answer, and a
 * refused request (wrong person, closed gate, second vote) never enters the history.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BackoutState, GateState, RunState, RunSummary, StepPage, StepState } from '../run/state.js';
import type { ChangesSince, RunChanges } from '../run/step-changes.js';
import type { BackoutRequest, ManualDoneRequest, ResolveRequest, VoteRequest } from '../run/transitions.js';
import type { Incident, IncidentRequest } from '../run/hypercare.js';
import type { AcknowledgeRequest } from '../run/acknowledge.js';

export type {
  AcknowledgeRequest,
  BackoutRequest,
  ChangesSince,
  Incident,
  IncidentRequest,
  ManualDoneRequest,
  ResolveRequest,
  RunChanges,
  VoteRequest,
};

/**
 * The run at a glance: its own fields, counts per status and the steps that matter now. Cheap to
 * answer at any runbook size; watchers poll it and read pages only when `revision` moved.
 */
export const runSummaryQuery = defineQuery<RunSummary>('runSummary');

/**
 * The summary, and the steps that changed since the revision a watcher holds (of the execution it names): what the
 * console and the live page read while a run goes on, instead of pages. Answers without steps when it cannot say
 * which (the watcher then reads the pages); a run on a worker from before it does not know it.
 */
export const runChangesQuery = defineQuery<RunChanges, [ChangesSince]>('runChanges');

/** A page of the run's steps in runbook order (at most 500 a page). */
export const runStepsQuery = defineQuery<StepPage, [{ offset: number; limit: number }]>('runSteps');

/**
 * The whole live state in one answer. Only the first workflow version (`runRunbook`) answers it;
 * clients read runs through `readRunState` (common/read-run-state.ts), which uses the summary and
 * pages and falls back to this for runs started by that version.
 */
export const runStateQuery = defineQuery<RunState>('runState');

/** An approver votes go on an open gate; answers the gate after the vote. */
export const approveGateUpdate = defineUpdate<GateState, [VoteRequest]>('approveGate');

/** An approver votes no-go on an open gate (reason required); the run backs out. */
export const rejectGateUpdate = defineUpdate<GateState, [VoteRequest]>('rejectGate');

/** The step's owner marks a manual step (or a manual back-out) done. */
export const completeManualStepUpdate = defineUpdate<StepState, [ManualDoneRequest]>('completeManualStep');

/**
 * A person says they are on a step or gate that waits for people (`cutover ack`): the run keeps who and when, shows it,
 * and does not escalate it. Answers the step.
 */
export const acknowledgeStepUpdate = defineUpdate<StepState, [AcknowledgeRequest]>('acknowledgeStep');

/** The lead backs the run out, with a reason. */
export const requestBackoutUpdate = defineUpdate<BackoutState, [BackoutRequest]>('requestBackout');

/** The lead resolves a failed step or back-out: retry it, or record it done by hand. */
export const resolveStepUpdate = defineUpdate<StepState, [ResolveRequest]>('resolveStep');

/** During hypercare: a person opens, updates or resolves an incident; answers the incident as it is now. */
export const changeIncidentUpdate = defineUpdate<Incident, [IncidentRequest]>('changeIncident');

/** An approver votes go on the open hypercare exit gate (`gateId: hypercare-exit`); approved, the run ends. */
export const approveHypercareExitUpdate = defineUpdate<GateState, [VoteRequest]>('approveHypercareExit');

/** An approver says not yet (reason required): the exit gate's approvals are dropped and hypercare goes on. */
export const rejectHypercareExitUpdate = defineUpdate<GateState, [VoteRequest]>('rejectHypercareExit');

/**
 * The workflow type clients start: one run is one workflow id, over one or more executions
 * (it continues as new to keep each history small).
 */
export const RUN_WORKFLOW_TYPE = 'cutoverRun';

/** The first version's type, kept so runs it started still finish (workflows/legacy/). */
export const LEGACY_RUN_WORKFLOW_TYPE = 'runRunbook';

// What a client stamps on the runs it starts, and what `cutover doctor` checks open runs against: the workflow code's
// version and the patch ledger (pure data, no workflow code).
export {
  ledgerVerdicts,
  RETIRED_WORKFLOW_TYPES,
  WORKFLOW_VERSION,
  WORKFLOW_VERSION_MEMO,
  type LedgerVerdict,
  type OpenExecution,
} from './patches.js';
