/**
 * The patch ledger: every `patched()` id the run workflow evaluates, what it guards, when it came, and the condition
 * that retires it. Versions have an end (samples-typescript `patching-api`): `patched(id)` -> `deprecatePatch(id)` ->
 * removed, each step taken only once no open execution still needs the one before (docs/development.md).
 *
 * The condition is checkable from outside: {@link WORKFLOW_VERSION} goes into the memo of every execution (the
 * client that starts a run puts it there, the workflow puts it in the memo of each continue-as-new), and
 * `cutover doctor` lists the open executions whose version is older than each live patch. An execution without the
 * memo entry started before versions were stamped and counts as version 0: older than every patch.
 *
 * Pure data and one pure function: the CLI reads it through workflows/messages.ts, the workflow for the ids.
 */

/**
 * The version of the run workflow's code, as far as running executions care: raise it by one whenever a patch is
 * added, deprecated or removed (any change an execution in flight could notice), and note the new number in the
 * ledger entry.
 */
export const WORKFLOW_VERSION = 23;

/** The memo entry that carries {@link WORKFLOW_VERSION}. */
export const WORKFLOW_VERSION_MEMO = 'workflowVersion';

/** Where a patch is on its way out. */
export type PatchStage = 'patched' | 'deprecated';

/** One entry of the ledger. */
export interface PatchEntry {
  /** The id `patched()` records as a marker in each execution's history. */
  readonly id: string;
  /** What the new branch does that the old one did not. */
  readonly guards: string;
  /** The commit and day it came with. */
  readonly introduced: string;
  /**
   * The first {@link WORKFLOW_VERSION} every execution of which took the new branch: once no open execution is older,
   * the old branch is dead code and `patched(id)` may become `deprecatePatch(id)`.
   */
  readonly since: number;
  readonly stage: PatchStage;
  /**
   * For a deprecated patch, the version that made it `deprecatePatch`: once no open execution is older, the call goes.
   */
  readonly deprecatedIn?: number;
}

/**
 * Every patch of `cutoverRun`, in the order they came. The first seven came before versions were stamped (version 1 is
 * the first stamped), so each waits for the open executions without a version to close; later ones name the version
 * that brought them.
 */
export const PATCHES = {
  /** Evaluated as each decision is recorded, before anything is awaited (run-context.ts; the cancel's in cancel.ts). */
  decisionHashChain: {
    id: 'decision-hash-chain',
    guards: 'the decision log is a hash chain: each entry is hashed with the one before it',
    introduced: '03e3fe2, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated when a gate starts waiting for votes, before anything is awaited (gate-step.ts). */
  gateEvidence: {
    id: 'gate-evidence',
    guards: 'a gate assembles the evidence it is decided on, and its digest, while it is open',
    introduced: 'a28d0a4, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated with {@link PATCHES.gateEvidence}, only when that one is present (gate-step.ts). */
  evidenceWatcher: {
    id: 'evidence-watcher',
    guards: "one watcher keeps every open gate's evidence current, instead of a wait per gate",
    introduced: 'c99cd8e, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated as each decision is recorded, right after {@link PATCHES.decisionHashChain} (run-context.ts). */
  decisionEarlyAnswer: {
    id: 'decision-early-answer',
    guards: 'a person is answered as soon as their decision is in the history; hash and store write follow',
    introduced: 'c99cd8e, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated first thing in every execution: validators cannot record a patch (cutover-run.ts). */
  logSignedRefusals: {
    id: 'log-signed-refusals',
    guards: 'a refused signed request from a person the runbook lists is logged with its reason',
    introduced: '16934f5, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated second thing in every execution (cutover-run.ts). */
  hashInWorkflow: {
    id: 'hash-in-workflow',
    guards: 'the workflow hashes the decision log and gate evidence itself, not a local activity',
    introduced: 'dc746ff, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated as the run ends, only when a decision came through an Update (cutover-run.ts). */
  recordSenders: {
    id: 'record-senders',
    guards: 'as the run ends, who sent each request (the client identity Temporal kept) is copied to the store',
    introduced: '743fd26, 2026-11-24',
    since: 1,
    stage: 'patched',
  },
  /** Evaluated first thing in every execution, before the ledger's first entry is needed (cutover-run.ts). */
  settledUpdates: {
    id: 'settled-updates',
    guards:
      'an Update that shares its activation with other jobs is delivered once they have settled, so the commands do not depend on the order of the jobs (activation-order.ts)',
    introduced: '89933ae, 2026-12-07',
    since: 2,
    stage: 'patched',
  },
  /** Evaluated third thing in every execution (cutover-run.ts); read when a hand-over is due (run-context.ts). */
  handoverKeepsGoing: {
    id: 'handover-keeps-going',
    guards:
      'once the history budget is used, steps keep starting until the actions running at that moment end (up to a ceiling); then the run hands over',
    introduced: 'b9f7e13, 2026-12-07',
    since: 3,
    stage: 'patched',
  },
  /** Evaluated fourth thing in every execution (cutover-run.ts); read when a step could not start (forward-steps.ts). */
  retriesUnstarted: {
    id: 'retries-unstarted',
    guards: 'a step whose start the record store did not take goes again by itself once the store answers, instead of waiting for the lead',
    introduced: '1f65d2f, 2026-12-07',
    since: 4,
    stage: 'patched',
  },
  /** Evaluated fifth thing in every execution (cutover-run.ts); read as the runbook is read (hand-over.ts). */
  checksStart: {
    id: 'checks-start',
    guards:
      "each execution checks its start against the record store's reservation (mode, auto-approve, version, an id used once, a live run's evidence) before it takes the run up",
    introduced: '7240818, 2026-12-07',
    since: 5,
    stage: 'patched',
  },
  /**
   * Evaluated sixth thing in every execution (cutover-run.ts); read by the request handlers (requests.ts). The caps and
   * the unknown-target check at the door need no patch (validators do not run in replay) and hold for every execution.
   */
  boundedRequests: {
    id: 'bounded-requests',
    guards:
      "a request let in before the run's state was there is refused unlogged when its target does not exist, and one person's logged refusals are rate-limited (run/request-limits.ts)",
    introduced: 'dbfbac8, 2026-12-07',
    since: 6,
    stage: 'patched',
  },
  /** Evaluated seventh thing in every execution (cutover-run.ts); read as the runbook is read (hand-over.ts). */
  checksRunbook: {
    id: 'checks-runbook',
    guards:
      "each execution checks the runbook it reads from the record store against the run's version hash (SHA-256; the 16 digits of older runs) and waits, saying why, instead of using another text",
    introduced: '7678c95, 2026-12-07',
    since: 7,
    stage: 'patched',
  },
  /** Evaluated as a signed request's refusal is logged, only then (requests.ts). */
  refusalClaimedKey: {
    id: 'refusal-claimed-key',
    guards: "a refused signed request's entry names the key its signature claimed, and whether it verified",
    introduced: '59465b6, 2026-12-07',
    since: 8,
    stage: 'patched',
  },
  /** Evaluated only when a ready step is held for its fixed start (fixed-start.ts). */
  holdsFixedStarts: {
    id: 'holds-fixed-starts',
    guards: 'a ready step waits for its `not_before` before it starts',
    introduced: 'ad49f3c, 2026-12-07',
    since: 9,
    stage: 'patched',
  },
  /** Evaluated where a switch-on step would start inside an interface freeze (fixed-start.ts). */
  holdsFreezes: {
    id: 'holds-freezes',
    guards: 'a ready switch-on step waits out a declared interface freeze, unless the lead signed the live start over one',
    introduced: '1dfcd46, 2026-12-07',
    since: 10,
    stage: 'patched',
  },
  /** Evaluated eighth thing in every execution (cutover-run.ts); read as a snapshot is written (run-context.ts, gate-step.ts). */
  gateSnapshots: {
    id: 'gate-snapshots',
    guards:
      "the record store's snapshot of the run is written when a gate opens and when it closes, and every snapshot names its execution and revision, so an older one is never written over a newer one",
    introduced: '2991c4d, 2026-12-07',
    since: 11,
    stage: 'patched',
  },
  /** Evaluated first thing, only in an execution whose start arrived unencrypted at a worker with the key (cutover-run.ts). */
  refusesUnencrypted: {
    id: 'refuses-unencrypted',
    guards:
      'a start that arrived unencrypted at a worker with CUTOVER_PAYLOAD_KEY fails before anything, saying to send it through the codec (run/unencrypted.ts)',
    introduced: '930ef05, 2026-12-07',
    since: 12,
    stage: 'patched',
  },
  /** Evaluated as each execution reads its runbook's first page, in executions from checks-start on (hand-over.ts). */
  checksBaseDir: {
    id: 'checks-base-dir',
    guards:
      "an execution's start claim names the runbook's folder, and the record store refuses a start for another folder than it reserved",
    introduced: '5667283, 2026-12-07',
    since: 13,
    stage: 'patched',
  },
  /** Evaluated only when a run whose runbook has a hypercare exit completed its forward steps (cutover-run.ts). */
  hypercareStage: {
    id: 'hypercare-stage',
    guards:
      'a run whose runbook has `hypercare.exit` goes on after go-live into hypercare (incidents, KPI rounds) until its exit gate is approved',
    introduced: 'c9ebe13, 2026-12-07',
    since: 14,
    stage: 'patched',
  },
  /** Evaluated once per execution after the runbook is read, only when it has `notifications:` (cutover-run.ts). */
  notifies: {
    id: 'notifies',
    guards:
      'a run whose runbook has notifications starts its notifier (a child workflow) and signals it each event: run started and ended, gates, manual steps, failures, the back-out',
    introduced: 'a4cfa1a, 2026-12-07',
    since: 15,
    stage: 'patched',
  },
  /** Evaluated once per execution as hypercare begins or goes on, only in runs that tell people (hypercare.ts). */
  hypercareNotices: {
    id: 'hypercare-notices',
    guards: "a run in hypercare that tells people sends each open incident's approaching and breach markers as events to its notifier",
    introduced: '8e4e53d, 2026-12-07',
    since: 16,
    stage: 'patched',
  },
  /**
   * Evaluated when a manual step or gate starts waiting (or a new execution takes up the wait), only when the runbook
   * gives it an `ack_within` and has notifications (notices.ts).
   */
  escalates: {
    id: 'escalates',
    guards:
      'a manual step or gate nobody acknowledges within its `ack_within` escalates: a timer tells the deputies of the roles that must act, then the lead',
    introduced: '5f26600, 2026-12-07',
    since: 17,
    stage: 'patched',
  },
  /** Evaluated when a gate with a point of no return opens, only when a route names `point_of_no_return` (notices.ts). */
  warnsNoReturn: {
    id: 'warns-no-return',
    guards: "a gate still open 15 minutes before its point of no return tells its approvers and the lead (a timer in the gate's wait)",
    introduced: 'e6ae7fa, 2026-12-07',
    since: 17,
    stage: 'patched',
  },
  /** Evaluated when a step starts and a manual step it leads to is expected ready later, only when a route names `step_ready_soon` (notices.ts). */
  warnsReadySoon: {
    id: 'warns-ready-soon',
    guards: 'the owner of a manual step is told 15 minutes before it is expected to be ready (a timer set when its last dependency starts)',
    introduced: '775f477, 2026-12-07',
    since: 17,
    stage: 'patched',
  },
  /** Evaluated once per execution in hypercare, only in runs whose runbook has `hypercare.reconcile` (hypercare.ts). */
  hypercareDrift: {
    id: 'hypercare-drift',
    guards: "a run in hypercare compares each `hypercare.reconcile` on its repeat and keeps its rounds' drift for the exit gate",
    introduced: 'fe143ff, 2026-12-07',
    since: 18,
    stage: 'patched',
  },
  /** Evaluated as a hypercare request (an incident, an exit vote) signed with a passkey is checked, only then (hypercare.ts). */
  passkeyHypercare: {
    id: 'passkey-hypercare',
    guards:
      "a hypercare request signed with a passkey (an incident or exit vote from the page) is checked with its WebAuthn assertion's authenticator and client data; before, the check got only the key and the signature and refused each as forged",
    introduced: 'ef84406, 2026-12-07',
    since: 19,
    stage: 'patched',
  },
  /** Evaluated once per execution after the runbook is read, only when it has a `rota` (cutover-run.ts; run/duty.ts). */
  rotaActs: {
    id: 'rota-acts',
    guards:
      "who is on duty decides who may act: a vote, a manual step's done or an acknowledgement from a person of a role with a rota who is off duty is refused (the lead and the role's deputies keep their rights)",
    introduced: 'b5624c5, 2026-12-07',
    since: 20,
    stage: 'patched',
  },
  /** Evaluated at a hand-over, only in runs that tell people (hand-over.ts; notices.ts). */
  carriesNotices: {
    id: 'carries-notices',
    guards:
      'a hand-over carries the ready-soon warnings still to come and the escalations told; the next execution sets the warnings again and tells an escalation that fell due meanwhile',
    introduced: '9303ac5, 2026-12-07',
    since: 21,
    stage: 'patched',
  },
  /** Evaluated at a hand-over, as the checkpoint is taken (hand-over.ts; requests.ts). */
  refusesHandedOver: {
    id: 'refuses-handed-over',
    guards:
      'a vote, done, acknowledgement, back-out or resolve handled after the hand-over checkpoint is refused (sent again to the next execution), not answered as done and lost',
    introduced: '9303ac5, 2026-12-07',
    since: 21,
    stage: 'patched',
  },
  /** Evaluated in an escalation's timer loop, only when a moment passed while it waited for the one before (notices.ts). */
  tellsLateEscalations: {
    id: 'tells-late-escalations',
    guards:
      'an escalation whose moment passed while the one before it waited for its timer (handled late: no worker polled, or a busy one) is told at once, not skipped as if an earlier execution had told it',
    introduced: '71e85a2, 2026-12-07',
    since: 22,
    stage: 'patched',
  },
  /** Evaluated in a gate's deadline reminders, only when a reminder's moment passed while the timer before it waited (notices.ts). */
  tellsLateDeadlines: {
    id: 'tells-late-deadlines',
    guards:
      'a deadline reminder whose moment passed while the one before it waited for its timer is told at once, and of several passed only the most urgent, instead of the late one with its own minutes and the urgent one skipped',
    introduced: '2f3036f, 2026-12-07',
    since: 23,
    stage: 'patched',
  },
} as const satisfies Record<string, PatchEntry>;

/** The workflow types cutover no longer starts, kept so that the runs they started finish (workflows/legacy/). */
export const RETIRED_WORKFLOW_TYPES = ['runRunbook'] as const;

/** An open execution as `cutover doctor` sees it. */
export interface OpenExecution {
  workflowId: string;
  type: string;
  /** From the memo; undefined when it has none (started before versions were stamped) or cannot be read. */
  version?: number;
  /** Its memo could not be decoded (encrypted with a key this reader does not have). */
  unreadable?: boolean;
}

/** One line of what the open executions mean for the ledger. */
export interface LedgerVerdict {
  subject: 'retired types' | 'patches';
  status: 'ok' | 'warn';
  detail: string;
}

/** How many ids a line names before it says "and N more". */
const IDS_SHOWN = 5;

function listIds(executions: readonly OpenExecution[]): string {
  const ids = executions.slice(0, IDS_SHOWN).map((e) => e.workflowId);
  const more = executions.length - ids.length;
  return `${ids.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`;

/**
 * What the open executions of a deployment hold back: the retired workflow types that still have runs, and for each
 * live patch (grouped by the version they wait for) the executions older than it. `ok` when nothing is held back.
 * `where` names the deployment in the sentences (" on task queue cutover").
 */
export function ledgerVerdicts(
  open: readonly OpenExecution[],
  {
    where = '',
    ledger = PATCHES,
    retired = RETIRED_WORKFLOW_TYPES,
  }: { where?: string; ledger?: Readonly<Record<string, PatchEntry>>; retired?: readonly string[] } = {},
): LedgerVerdict[] {
  const verdicts: LedgerVerdict[] = [];
  for (const type of retired) {
    const runs = open.filter((e) => e.type === type);
    verdicts.push(
      runs.length === 0
        ? { subject: 'retired types', status: 'ok', detail: `no open ${type} execution${where}: none here needs its frozen code` }
        : {
            subject: 'retired types',
            status: 'warn',
            detail: `${plural(runs.length, `open ${type} execution`)}${where} (a retired type): its frozen code stays until they close: ${listIds(runs)}`,
          },
    );
  }
  const current = open.filter((e) => !retired.includes(e.type));
  const waits = new Map<string, { entries: PatchEntry[]; older: OpenExecution[] }>();
  for (const entry of Object.values(ledger)) {
    const until = entry.stage === 'patched' ? entry.since : (entry.deprecatedIn ?? WORKFLOW_VERSION);
    const older = current.filter((e) => (e.version ?? 0) < until);
    if (older.length === 0) continue;
    const key = `${entry.stage} ${until}`;
    const group = waits.get(key) ?? { entries: [], older };
    group.entries.push(entry);
    waits.set(key, group);
  }
  for (const { entries, older } of waits.values()) {
    const ids = entries.map((e) => e.id).join(', ');
    const next = entries[0]!.stage === 'patched' ? 'deprecated' : 'removed';
    const unreadable = older.filter((e) => e.unreadable).length;
    verdicts.push({
      subject: 'patches',
      status: 'warn',
      detail:
        `${entries.length === 1 ? `patch ${ids}` : `patches ${ids}`} can be ${next} once ` +
        `${older.length === 1 ? 'this execution closes' : `these ${older.length} executions close`}: ${listIds(older)}` +
        (unreadable > 0 ? ` (${unreadable} with a memo that could not be decrypted: set CUTOVER_PAYLOAD_KEY as the workers have it)` : ''),
    });
  }
  if (waits.size === 0) {
    const live = Object.values(ledger);
    verdicts.push({
      subject: 'patches',
      status: 'ok',
      detail:
        live.length === 0
          ? 'no patch in the ledger'
          : `no open execution${where} predates the ${plural(live.length, 'patch', 'patches')} in the ledger: each may take its next step (workflows/patches.ts)`,
    });
  }
  return verdicts;
}
