/**
 * Named sign-in to the page with passkeys (issue 19): `cutover web invite PERSON` makes a one-time enrolment link; the
 * person opens it and makes a passkey (WebAuthn through @simplewebauthn/server, ES256 only: the run checks the
 * same key); from then on they sign in with it. Enrolments, sign-ins, refusals and sign-outs go to the record store.
 *
 * Every state-changing request passes the same door (web/people-session.ts): the page's own origin, a secure context,
 * a rate limit on sign-in and enrolment, and after sign-in the session's CSRF token.
 */
import { convertCOSEtoPKCS } from '@simplewebauthn/server/helpers';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { createPublicKey } from 'node:crypto';
import { passkeyText } from '../common/signatures.js';
import type { WebEventKind } from '../prisma/web-people.js';
import { renderEnrolPage, renderRefusedPage, renderSignInPage } from './people-pages.js';
import {
  clearSessionCookie,
  INVITE_MS,
  loadSession,
  newSecret,
  rateLimit,
  RefusedRequestError,
  requireCsrf,
  sameOrigin,
  secretHash,
  sessionOf,
  SESSION_MS,
  setSessionCookie,
  type PeopleSettings,
} from './people-session.js';

/** How long a ceremony's challenge may wait for the browser's answer. */
const CEREMONY_MS = 5 * 60 * 1000;
/** ES256: the one algorithm the run verifies (a passkey of another would enrol but could never sign a vote). */
const ES256 = -7;

/** Challenges handed out and not yet answered: each is good once, for {@link CEREMONY_MS}. */
class Challenges {
  readonly #open = new Map<string, { until: number; for: string }>();

  issue(challenge: string, forWhat: string): void {
    const now = Date.now();
    for (const [key, entry] of this.#open) if (entry.until <= now) this.#open.delete(key);
    this.#open.set(challenge, { until: now + CEREMONY_MS, for: forWhat });
  }

  /** Uses the challenge up: true when it was handed out for `forWhat` and has not expired. */
  take(challenge: string, forWhat: string): boolean {
    const entry = this.#open.get(challenge);
    this.#open.delete(challenge);
    return entry !== undefined && entry.for === forWhat && entry.until > Date.now();
  }
}

/** The enrolment link's token for a person, and the link (see `cutover web invite`). */
export async function invitePerson(settings: Pick<PeopleSettings, 'people' | 'origin'>, person: string, now = new Date()) {
  const token = newSecret();
  const expiresAt = new Date(now.getTime() + INVITE_MS).toISOString();
  await settings.people.invite(person, secretHash(token), now.toISOString(), expiresAt);
  return { link: `${new URL(settings.origin).origin}/enrol/${token}`, expiresAt };
}

/** An async route whose errors go to the app's error handler. */
const route =
  (work: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction): void => {
    work(req, res).catch(next);
  };

/** The routes of enrolment, sign-in and sign-out. Mount before the shared token: people have no token. */
export function peopleRoutes(settings: PeopleSettings): Router {
  const router = express.Router();
  const { people, origin, rpId } = settings;
  const challenges = new Challenges();
  const door = sameOrigin(settings);
  const json = express.json({ limit: '64kb' });
  const signInLimit = rateLimit(20, 60_000, 'sign-in');
  const enrolLimit = rateLimit(20, 60_000, 'enrolment');
  const event = (person: string, kind: WebEventKind, detail?: string) =>
    people.recordEvent({ at: new Date().toISOString(), person, kind, ...(detail ? { detail } : {}) });
  const refuse = async (person: string, status: 400 | 401 | 403 | 404 | 410, why: string): Promise<never> => {
    await event(person, 'refused', why);
    throw new RefusedRequestError(status, why);
  };

  router.use(loadSession(settings));

  /** Whose link this is, or a refusal (logged) saying why it cannot be used. */
  const inviteOf = async (token: string): Promise<string> => {
    const found = await people.peekInvite(secretHash(token), new Date().toISOString());
    if ('person' in found && !('refused' in found)) return found.person;
    const why =
      found.refused === 'used'
        ? 'this enrolment link was used already; ask the cutover lead for a new one (`cutover web invite`)'
        : found.refused === 'expired'
          ? 'this enrolment link has expired (they last 24 hours); ask the cutover lead for a new one (`cutover web invite`)'
          : 'this is not an enrolment link the page made; ask the cutover lead for one (`cutover web invite`)';
    return refuse(found.person ?? '(unknown)', found.refused === 'unknown' ? 404 : 410, why);
  };

  router.get(
    '/enrol/:token',
    enrolLimit,
    route(async (req, res) => {
      try {
        const person = await inviteOf(String(req.params.token));
        res.type('html').set('Cache-Control', 'no-store').send(renderEnrolPage(person));
      } catch (error) {
        if (!(error instanceof RefusedRequestError)) throw error;
        res.status(error.status).type('html').send(renderRefusedPage('Enrolment link refused', error.message));
      }
    }),
  );

  router.post(
    '/enrol/:token/options',
    enrolLimit,
    door,
    route(async (req, res) => {
      const token = String(req.params.token);
      const person = await inviteOf(token);
      const options = await generateRegistrationOptions({
        rpName: 'cutover',
        rpID: rpId,
        userName: person,
        attestationType: 'none',
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        supportedAlgorithmIDs: [ES256],
      });
      challenges.issue(options.challenge, `enrol:${secretHash(token)}`);
      res.json(options);
    }),
  );

  router.post(
    '/enrol/:token',
    enrolLimit,
    door,
    json,
    route(async (req, res) => {
      const token = String(req.params.token);
      const person = await inviteOf(token);
      const forWhat = `enrol:${secretHash(token)}`;
      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response: req.body as RegistrationResponseJSON,
          expectedChallenge: (challenge) => challenges.take(challenge, forWhat),
          expectedOrigin: origin,
          expectedRPID: rpId,
          requireUserVerification: true,
          supportedAlgorithmIDs: [ES256],
        });
      } catch (error) {
        return refuse(person, 400, `the passkey was not made as the page asked (${(error as Error).message}); open the link again`);
      }
      if (!verified.verified) return refuse(person, 400, 'the passkey could not be verified; open the link again');
      // Used up only now, by one of two racing enrolments.
      if (!(await people.useInvite(secretHash(token), new Date().toISOString())))
        return refuse(person, 410, 'this enrolment link was used already; ask the cutover lead for a new one (`cutover web invite`)');
      const { credential } = verified.registrationInfo;
      const point = Buffer.from(convertCOSEtoPKCS(credential.publicKey));
      const key = createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
        format: 'jwk',
      });
      const passkey = passkeyText(rpId, key);
      const at = new Date().toISOString();
      await people.enrol({
        name: person,
        credentialId: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        passkey,
        counter: credential.counter,
        enrolledAt: at,
      });
      await startSession(req, res, person, credential.counter);
      res.json({ person, passkey, runbookLine: `${person}: { passkey: "${passkey}" }` });
    }),
  );

  router.get('/sign-in', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-store').send(renderSignInPage());
  });

  router.post(
    '/sign-in/options',
    signInLimit,
    door,
    route(async (_req, res) => {
      const options = await generateAuthenticationOptions({ rpID: rpId, userVerification: 'required' });
      challenges.issue(options.challenge, 'sign-in');
      res.json(options);
    }),
  );

  router.post(
    '/sign-in',
    signInLimit,
    door,
    json,
    route(async (req, res) => {
      const response = req.body as AuthenticationResponseJSON;
      const found = typeof response?.id === 'string' ? await people.person({ credentialId: response.id }) : undefined;
      if (!found) return refuse('(unknown)', 401, 'this passkey is not enrolled on this page; ask the cutover lead for an enrolment link');
      if (found.revokedAt) return refuse(found.name, 403, `${found.name}'s sign-in was revoked; ask the cutover lead`);
      let verified;
      try {
        verified = await verifyAuthenticationResponse({
          response,
          expectedChallenge: (challenge) => challenges.take(challenge, 'sign-in'),
          expectedOrigin: origin,
          expectedRPID: rpId,
          credential: { id: found.credentialId, publicKey: Buffer.from(found.publicKey, 'base64url'), counter: found.counter },
          requireUserVerification: true,
        });
      } catch (error) {
        return refuse(found.name, 401, `the sign-in did not verify (${(error as Error).message}); try again`);
      }
      if (!verified.verified) return refuse(found.name, 401, 'the sign-in did not verify; try again');
      await startSession(req, res, found.name, verified.authenticationInfo.newCounter);
      res.json({ person: found.name, next: '/act' });
    }),
  );

  router.post(
    '/sign-out',
    door,
    requireCsrf,
    route(async (req, res) => {
      await people.endSession(sessionOf(res)!.idHash, new Date().toISOString());
      clearSessionCookie(req, res);
      res.json({ signedOut: true });
    }),
  );

  /** A new session for `person`: a new id (never one the browser had before), the old one ended. */
  async function startSession(req: Request, res: Response, person: string, counter: number): Promise<void> {
    const before = sessionOf(res);
    if (before) await people.endSession(before.idHash, new Date().toISOString());
    const id = newSecret();
    const at = new Date();
    await people.signIn(person, counter, {
      idHash: secretHash(id),
      csrf: newSecret(),
      at: at.toISOString(),
      expiresAt: new Date(at.getTime() + SESSION_MS).toISOString(),
    });
    setSessionCookie(req, res, id, origin);
  }

  return router;
}
