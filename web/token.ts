/**
 * The status page behind a token (`CUTOVER_WEB_TOKEN`). With a token, every request but `/healthz` must carry it:
 *
 * - scripts and monitoring send `Authorization: Bearer TOKEN`;
 * - a browser opens the shared link `URL/?token=TOKEN` once: the page answers 303 to the same address without the
 *   token (so it does not stay in the address bar, the history or a Referer) and sets the `cutover_token` cookie
 *   (HttpOnly, SameSite=Strict, Path=/, Secure over https), which every later request carries.
 *
 * The token is compared through SHA-256 digests with `timingSafeEqual`: equal-length inputs, so neither the time
 * taken nor an early exit tells how much of a guess was right. It is never logged and never sent back: an answer
 * carries it only in the Set-Cookie header of the 303.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';

/** The cookie a browser keeps the token in. */
export const TOKEN_COOKIE = 'cutover_token';

/** The query parameter of the shared link. */
export const TOKEN_PARAMETER = 'token';

/** Thrown when a request does not carry the page's token; the message is the sentence the client gets. */
export class TokenRequiredError extends Error {
  /** True when a token was given and it is not the page's (as opposed to none at all). */
  readonly wrong: boolean;

  constructor(wrong: boolean) {
    super(
      wrong
        ? 'The token given is not this status page’s token (it may have been changed): open the link the cutover lead shared, or send Authorization: Bearer with the current token.'
        : 'This status page needs its token: open the link the cutover lead shared (it ends in ?token=…) once in this browser, or send Authorization: Bearer TOKEN.',
    );
    this.name = 'TokenRequiredError';
    this.wrong = wrong;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      return part.slice(at + 1).trim();
    }
  }
  return undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * The request's URL split into its path and the query without the token parameter: the raw text of the other
 * parameters is kept as it came (no re-encoding), so the redirect names exactly the page asked for.
 */
function splitTokenOff(originalUrl: string): { path: string; query: string; given: string | undefined } {
  const at = originalUrl.indexOf('?');
  const rawPath = at < 0 ? originalUrl : originalUrl.slice(0, at);
  const parts = at < 0 ? [] : originalUrl.slice(at + 1).split('&');
  let given: string | undefined;
  const kept: string[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    if (name === TOKEN_PARAMETER) given ??= eq < 0 ? '' : decode(part.slice(eq + 1));
    else kept.push(part);
  }
  // `//host/x` or `/\host` as a Location would send the browser to another site: one leading slash only.
  const path = rawPath.replace(/^[/\\]+/, '/');
  return { path, query: kept.join('&'), given };
}

/** The bearer token of an Authorization header, or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return match?.[1];
}

/** Whether the browser reached us over https: directly, or through a proxy on this machine that says so. */
function overHttps(req: Request): boolean {
  // `req.secure` honours X-Forwarded-Proto only from peers `trust proxy` names; the app trusts loopback only
  // (see createApp), the proxy of "listen on 127.0.0.1 behind your own proxy".
  return req.secure;
}

/**
 * Middleware that lets through only requests carrying `token` (see the module comment). Mount it after the routes
 * that stay open (`/healthz`) and before everything else. A missing or wrong token goes to the error handler as
 * {@link TokenRequiredError} (401).
 */
export function requireToken(token: string, options: { secureCookie?: boolean } = {}): RequestHandler {
  // An empty token would let `?token=` in; settings refuse short ones, this keeps a test's or a caller's slip out.
  if (token.length === 0) throw new Error('the status page token must not be empty');
  const expected = digest(token);
  const matches = (given: string | undefined): boolean => given !== undefined && timingSafeEqual(digest(given), expected);

  return (req, res, next) => {
    // Whatever the outcome, the answer depends on who asks: no shared cache may keep it.
    res.set('Cache-Control', 'no-store');
    const link = splitTokenOff(req.originalUrl);
    if (link.given !== undefined) {
      if (!matches(link.given)) {
        next(new TokenRequiredError(true));
        return;
      }
      res.cookie(TOKEN_COOKIE, token, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        secure: options.secureCookie === true || overHttps(req),
      });
      res.redirect(303, link.query ? `${link.path}?${link.query}` : link.path);
      return;
    }
    const bearer = bearerToken(req.get('authorization'));
    const cookie = cookieValue(req.get('cookie'), TOKEN_COOKIE);
    if (matches(bearer) || matches(cookie)) {
      next();
      return;
    }
    next(new TokenRequiredError(bearer !== undefined || cookie !== undefined));
  };
}
