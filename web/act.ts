/**
 * The acting view (issue 19): a signed-in person sees what they may do now (their open gates, with the evidence and
 * its digest, and their manual steps) and does it in two taps; each request is signed on their device with their
 * passkey (web/people-assets.ts) and forwarded to the run as it came. The run checks the signature against the
 * passkey its runbook lists, so the page server cannot decide anything in anyone's name.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { ForwardOutcome, PageRequestKind } from '../common/forward-request.js';
import type { RunDetail } from '../prisma/records.js';
import type { RunState, StepState } from '../run/state.js';
import { parseRunbook } from '../runbook/parse.js';
import type { Runbook } from '../runbook/schema.js';
import { refuseAcknowledge } from '../run/acknowledge.js';
import { refuseOffDuty, withRotaPeople } from '../run/duty.js';
import { HYPERCARE_EXIT_ID, refuseExitVote } from '../run/hypercare.js';
import { nightStartMs } from '../runbook/fixed-starts.js';
import { onItText } from '../present/duty-view.js';
import { waitingItems } from '../present/run-view.js';
import { careRunsFor } from './act-incidents.js';
import { endStream, streamAct, type ActLive, type RunForPerson } from './act-live.js';
import { actCards, renderActPage, type AckState, type OpenForPerson } from './people-pages.js';
import { insecureOrigin, RefusedRequestError, requireCsrf, sameOrigin, sessionOf, type PeopleSettings } from './people-session.js';

/** What the acting view needs besides the people store. */
export interface ActSettings extends PeopleSettings {
  /** Sends a person's signed request to the run as it came, and gives the run's answer. */
  forward(runId: string, kind: PageRequestKind, fields: Record<string, unknown>): Promise<ForwardOutcome>;
}

/** The runs in flight, with their state and the runbook they run. */
export type OpenRuns = () => Promise<{ record: RunDetail; state: RunState }[]>;

const KINDS: readonly PageRequestKind[] = ['approve', 'reject', 'complete_manual', 'request_backout', 'resolve', 'acknowledge', 'incident'];

/** Who holds `role` in `runbook`. */
const holds = (runbook: Runbook, role: string, person: string) => (runbook.roles[role] ?? []).includes(person);

/**
 * What `person` may do now in the runs in flight: the gates they may vote on, the manual steps they may mark done (each
 * with who is on it, and whether they may acknowledge it), the incidents of runs in hypercare, and for the lead the
 * failures waiting to be resolved and the runs they may back out.
 */
export function openFor(person: string, runs: readonly RunForPerson[], now = Date.now()): OpenForPerson {
  const open: OpenForPerson = { gates: [], manual: [], failures: [], lead: [], waits: [], care: careRunsFor(person, runs, now) };
  const { gates, manual, failures, lead, waits } = open;
  for (const { record, state, runbook } of runs) {
    const leads = holds(runbook, runbook.lead, person);
    // With a rota, whoever is on duty acts for a role (run/duty.ts): the cards offer only what the run would take now.
    const everyone = withRotaPeople(runbook);
    const night = nightStartMs(runbook, state.mode, state.startedAt);
    const mayActFor = (roles: readonly string[]) =>
      roles.some((role) => holds(everyone, role, person)) && refuseOffDuty(runbook, roles, person, now, night) === undefined;
    const goingForward = (state.status === 'running' || state.status === 'waiting') && state.backout.status === 'not_requested';
    // The lead may back a run out while it goes forward (not once a back-out started or the run ended).
    if (leads && goingForward) lead.push({ runId: record.id, runbookName: record.runbookName });
    // The lead sees who is on what: every wait of their run, with who acknowledged it.
    const items = leads
      ? waitingItems(
          state.order.flatMap((id) => state.steps[id] ?? []),
          { roles: runbook.roles, lead: runbook.lead },
        )
      : [];
    if (items.length > 0) waits.push({ runId: record.id, runbookName: record.runbookName, items });
    for (const step of Object.values(state.steps)) {
      // A failure waits for the lead (as `cutover resolve` would answer it): retry, done by hand, or back out.
      const resolution = step.resolution;
      if (leads && resolution && !resolution.decided)
        failures.push({
          runId: record.id,
          runbookName: record.runbookName,
          step,
          resolution,
          canBackOut: resolution.scope === 'forward' && state.backout.status === 'not_requested',
        });
      const gate = step.gate;
      if (gate?.status === 'open' && mayActFor(gate.approvers) && !gate.votes.some((v) => v.by === person))
        gates.push({
          runId: record.id,
          runbookName: record.runbookName,
          gateId: step.id,
          title: step.title,
          gate,
          ...ackOf(runbook, state, step, person),
        });
      if (step.status === 'waiting' && step.waitingFor === 'manual' && mayActFor([step.owner]))
        manual.push({ runId: record.id, runbookName: record.runbookName, step, ...ackOf(runbook, state, step, person) });
    }
    // The hypercare exit gate, once its criteria hold, for its approvers who have not approved it yet.
    const exit = state.hypercare?.exit;
    if (
      exit?.status === 'open' &&
      refuseExitVote(runbook, state.hypercare, { gateId: HYPERCARE_EXIT_ID, by: person }, 'approve') === undefined
    )
      gates.push({
        runId: record.id,
        runbookName: record.runbookName,
        gateId: HYPERCARE_EXIT_ID,
        title: 'Leave hypercare: is the new system in steady state?',
        gate: exit,
        mayAck: false,
      });
  }
  return open;
}

/** Who is on a step's wait, and whether `person` may acknowledge it now (as `cutover ack` would be answered). */
function ackOf(runbook: Runbook, state: RunState, step: StepState, person: string): AckState {
  const onIt = onItText(step);
  return { ...(onIt ? { onIt } : {}), mayAck: refuseAcknowledge(runbook, state, { stepId: step.id, by: person }) === undefined };
}

const route =
  (work: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction): void => {
    work(req, res).catch(next);
  };

/**
 * `GET /act` (the acting view; sign-in first), `GET /act/events` (its cards as the runs move, with `live`) and
 * `POST /act/request` (a signed request, forwarded).
 */
export function actRoutes(settings: ActSettings, openRuns: OpenRuns, live?: ActLive): Router {
  const router = express.Router();
  const parsed = new Map<string, Runbook | undefined>();
  const runbookOf = (record: RunDetail) => {
    if (!parsed.has(record.versionHash)) {
      const result = parseRunbook(record.runbookSource, `${record.id} (recorded runbook)`);
      parsed.set(record.versionHash, result.ok ? result.runbook : undefined);
    }
    return parsed.get(record.versionHash);
  };

  router.get(
    '/act',
    route(async (_req, res) => {
      const session = sessionOf(res);
      if (!session) {
        res.redirect(303, '/sign-in');
        return;
      }
      const me = await settings.people.person({ name: session.person });
      const runs = (await openRuns()).flatMap(({ record, state }) => {
        const runbook = runbookOf(record);
        return runbook ? [{ record, state, runbook }] : [];
      });
      const cards = actCards(openFor(session.person, runs));
      const signer = {
        person: session.person,
        passkey: me!.passkey,
        credentialId: me!.credentialId,
        rpId: settings.rpId,
        csrf: session.csrf,
      };
      res.set('Cache-Control', 'no-store').type('html').send(renderActPage(signer, cards));
    }),
  );

  router.get(
    '/act/events',
    route(async (req, res) => {
      const session = sessionOf(res);
      if (!session) throw new RefusedRequestError(401, 'you are not signed in (or your session ended); sign in with your passkey again');
      if (!live) {
        endStream(res, 'Live updates are not available here (the page has no Temporal); reload to look again.');
        return;
      }
      const person = session.person;
      const cardsFor = (runs: readonly RunForPerson[]) => actCards(openFor(person, runs));
      await streamAct(req, res, live, { person, idHash: session.idHash, people: settings.people, runbookOf, cardsFor });
    }),
  );

  router.post(
    '/act/request',
    sameOrigin(settings),
    requireCsrf,
    express.json({ limit: '64kb' }),
    route(async (req, res) => {
      const session = sessionOf(res)!;
      const insecure = insecureOrigin(settings.origin);
      if (insecure) throw new RefusedRequestError(403, insecure);
      const body = req.body as { run?: unknown; kind?: unknown; fields?: unknown; signature?: unknown };
      const fields = body.fields as Record<string, unknown> | undefined;
      if (typeof body.run !== 'string' || !KINDS.includes(body.kind as PageRequestKind) || !fields || typeof fields !== 'object')
        throw new RefusedRequestError(400, `the request names no run, kind (${KINDS.join(', ')}) or fields`);
      // Anyone signed in may only send their own requests (the run checks the signature besides).
      if (fields.by !== session.person)
        throw new RefusedRequestError(
          403,
          `you are signed in as ${session.person}, and this request is in the name of ${String(fields.by)}`,
        );
      const kind = body.kind as PageRequestKind;
      const target = String(fields.gateId ?? fields.stepId ?? fields.incidentId ?? (kind === 'incident' ? 'a new incident' : 'the run'));
      const outcome = await settings.forward(body.run, kind, { ...fields, signature: body.signature });
      const at = new Date().toISOString();
      if (!outcome.recorded) {
        await settings.people.recordEvent({
          at,
          person: session.person,
          kind: 'refused',
          detail: `${kind} ${target} on ${body.run}: ${outcome.refused}`,
        });
        res.status(409).json({ error: `the run refused it: ${outcome.refused}` });
        return;
      }
      // A vote is `voted`; done, acknowledgements, back-outs, resolutions and incidents are `acted`.
      const logged = kind === 'approve' || kind === 'reject' ? 'voted' : 'acted';
      await settings.people.recordEvent({ at, person: session.person, kind: logged, detail: `${kind} ${target} on ${body.run}` });
      res.json({ sentence: outcome.sentence, decision: kind });
    }),
  );
  return router;
}
