/**
 * The door of the page's acting part (issue 19): sessions of signed-in people, the checks every state-changing request
 * passes (its Origin is the page's own, the session's CSRF token, a secure context), and a small rate limit for
 * sign-in and enrolment. The shared token (web/token.ts) stays for read-only wallboards; these are per person.
 *
 * A session's id lives in the `cutover_session` cookie (HttpOnly, SameSite=Strict, Path=/, Secure over https) and
 * only its SHA-256 in the record store, so a copy of the store signs nobody in. A new id is made at every sign-in
 * (no fixation: an id set before sign-in is never promoted), and the old one ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { WebPeopleStore, WebSessionRecord } from '../prisma/web-people.js';
import { isLoopbackHost } from './loopback.js';
import { cookieValue } from './token.js';

/** The cookie a signed-in browser keeps its session id in. */
export const SESSION_COOKIE = 'cutover_session';

/** How long a session lasts: a cutover night, not a week. */
export const SESSION_MS = 12 * 60 * 60 * 1000;

/** How long an enrolment link lasts. */
export const INVITE_MS = 24 * 60 * 60 * 1000;

/** The header a page script sends the session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

/** What the acting part needs to know about where browsers reach it. */
export interface PeopleSettings {
  /** The people store (prisma/web-people.ts). */
  people: WebPeopleStore;
  /** The origin browsers use, e.g. `https://cutover.example.com` (the relying party's; WebAuthn binds passkeys to it). */
  origin: string;
  /** The relying-party id: the origin's host name, or a parent domain of it. */
  rpId: string;
}

/** Thrown when a request may not change anything; the message is the one sentence the browser shows. */
export class RefusedRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 410 | 429,
    message: string,
  ) {
    super(message);
    this.name = 'RefusedRequestError';
  }
}

/** SHA-256 of a secret, base64url: what the store keeps of a session id or an enrolment token. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** A new random secret (a session id, a CSRF token, an enrolment token): 32 bytes, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Why this page may not take votes or sign-ins at all, or undefined: WebAuthn needs a secure context, and a vote over
 * plain HTTP beyond this machine could be read and held back by anyone on the way.
 */
export function insecureOrigin(origin: string): string | undefined {
  const url = new URL(origin);
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
  return `this page takes votes and sign-ins over https only, and it is reached over plain HTTP at ${url.origin}: serve it with --tls-cert and --tls-key, or behind a TLS proxy (--tls-proxy with --origin https://…)`;
}

/**
 * The checks of every state-changing request: the page is in a secure context, and the request comes from the page's
 * own origin (a form or script on another site gets nothing done, whatever cookies the browser would send).
 */
export function sameOrigin(settings: Pick<PeopleSettings, 'origin'>): RequestHandler {
  return (req, _res, next) => {
    const insecure = insecureOrigin(settings.origin);
    if (insecure) return next(new RefusedRequestError(403, insecure));
    const origin = req.get('origin');
    if (origin !== new URL(settings.origin).origin)
      return next(
        new RefusedRequestError(403, `this request came from ${origin ?? 'an unnamed origin'}, not from the page itself; nothing was done`),
      );
    next();
  };
}

/** The signed-in person of a request, set by {@link loadSession}. */
export function sessionOf(res: Response): (WebSessionRecord & { idHash: string }) | undefined {
  return res.locals.session as (WebSessionRecord & { idHash: string }) | undefined;
}

/** Reads the session cookie into `res.locals.session` when it names a live session. */
export function loadSession(settings: Pick<PeopleSettings, 'people'>): RequestHandler {
  return async (req, res, next) => {
    try {
      const id = cookieValue(req.get('cookie'), SESSION_COOKIE);
      if (id) {
        const idHash = secretHash(id);
        const session = await settings.people.session(idHash, new Date().toISOString());
        if (session) res.locals.session = { ...session, idHash };
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** Lets through only a signed-in person whose request carries their session's CSRF token. */
export const requireCsrf: RequestHandler = (req, res, next) => {
  const session = sessionOf(res);
  if (!session) return next(new RefusedRequestError(401, 'you are not signed in (or your session ended); sign in with your passkey again'));
  if (req.get(CSRF_HEADER) !== session.csrf)
    return next(new RefusedRequestError(403, 'this request does not carry your session’s token; reload the page and try again'));
  next();
};

/** Sets a new session's cookie: Secure when the page's origin is https (behind a TLS proxy too) or the request came over TLS. */
export function setSessionCookie(req: Request, res: Response, id: string, origin: string): void {
  const secure = req.secure || new URL(origin).protocol === 'https:';
  res.cookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'strict', path: '/', secure, maxAge: SESSION_MS });
}

/** Clears the session cookie. */
export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure });
}

/**
 * At most `limit` requests per client address in any `windowMs` (a fixed window): enough for a person fumbling their
 * passkey, far too few to guess an enrolment link or flood the store with refusals.
 */
export function rateLimit(limit: number, windowMs: number, what: string): RequestHandler {
  const seen = new Map<string, { since: number; count: number }>();
  return (req, _res, next) => {
    const now = Date.now();
    const key = req.ip ?? 'unknown';
    let entry = seen.get(key);
    if (!entry || now - entry.since >= windowMs) {
      if (seen.size > 10_000) seen.clear();
      entry = { since: now, count: 0 };
      seen.set(key, entry);
    }
    entry.count += 1;
    if (entry.count > limit)
      return next(new RefusedRequestError(429, `too many ${what} attempts from this address; wait a minute and try again`));
    next();
  };
}
