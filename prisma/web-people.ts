/**
 * The page's people (issue 19): who may sign in with a passkey, the one-time enrolment links, the sessions, and what
 * happened at the door (invited, enrolled, signed in, refused, signed out, revoked, voted), on SQLite and PostgreSQL
 * alike. Secrets are never stored: an enrolment link's token and a session's id are kept as their SHA-256.
 */
import type { Db } from './connection.js';

/** What happened at the page's door. */
export type WebEventKind = 'invited' | 'enrolled' | 'signed_in' | 'refused' | 'signed_out' | 'revoked' | 'voted' | 'acted';

/** One event of {@link WebEventKind}. */
export interface WebEventRecord {
  at: string;
  person: string;
  kind: WebEventKind;
  detail?: string;
}

/** An enrolled person. */
export interface WebPersonRecord {
  name: string;
  credentialId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The runbook's line for it: webauthn:RP_ID:POINT. */
  passkey: string;
  counter: number;
  enrolledAt: string;
  lastSignInAt?: string;
  revokedAt?: string;
}

/** Why an enrolment link cannot be used. */
export type InviteRefusal = 'unknown' | 'used' | 'expired';

/** A live session: whose, and its CSRF token. */
export interface WebSessionRecord {
  person: string;
  csrf: string;
  expiresAt: string;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : undefined);

/** The page's people, enrolment links, sessions and events. Get it from `RecordStore.webPeople`. */
export class WebPeopleStore {
  constructor(
    private readonly db: () => Db,
    private readonly wrap: (error: unknown) => unknown,
  ) {}

  async #run<T>(work: (prisma: Db) => Promise<T>): Promise<T> {
    try {
      return await work(this.db());
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** Appends an event. */
  async recordEvent(event: WebEventRecord): Promise<void> {
    await this.#run((p) => p.webEvent.create({ data: { ...event, at: new Date(event.at), detail: event.detail ?? null } }));
  }

  /** The events, oldest first, of one person or everyone. */
  async events(person?: string): Promise<WebEventRecord[]> {
    const rows = await this.#run((p) => p.webEvent.findMany({ where: person ? { person } : {}, orderBy: [{ id: 'asc' }] }));
    return rows.map((r) => ({
      at: r.at.toISOString(),
      person: r.person,
      kind: r.kind as WebEventKind,
      ...(r.detail !== null ? { detail: r.detail } : {}),
    }));
  }

  /** Keeps a new enrolment link (its token's hash) for `person`, until `expiresAt`. */
  async invite(person: string, tokenHash: string, at: string, expiresAt: string): Promise<void> {
    await this.#run((p) =>
      p.webInvite.create({ data: { tokenHash, person, createdAt: new Date(at), expiresAt: new Date(expiresAt), usedAt: null } }),
    );
    await this.recordEvent({ at, person, kind: 'invited', detail: `link expires ${expiresAt}` });
  }

  /** Whose enrolment link this is, or why it cannot be used (unknown, used, expired). Uses nothing up. */
  async peekInvite(tokenHash: string, at: string): Promise<{ person: string } | { refused: InviteRefusal; person?: string }> {
    const row = await this.#run((p) => p.webInvite.findUnique({ where: { tokenHash } }));
    if (!row) return { refused: 'unknown' };
    if (row.usedAt) return { refused: 'used', person: row.person };
    if (row.expiresAt.getTime() <= Date.parse(at)) return { refused: 'expired', person: row.person };
    return { person: row.person };
  }

  /**
   * Uses the link up: true for the one caller that did (a guarded update: of two enrolments racing on one link, one
   * wins), false when it was used or expired meanwhile.
   */
  async useInvite(tokenHash: string, at: string): Promise<boolean> {
    const now = new Date(at);
    const { count } = await this.#run((p) =>
      p.webInvite.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } }),
    );
    return count === 1;
  }

  /** Keeps a person's passkey (a new enrolment replaces the old one, and lifts a revocation). */
  async enrol(person: WebPersonRecord): Promise<void> {
    const data = {
      credentialId: person.credentialId,
      publicKey: person.publicKey,
      passkey: person.passkey,
      counter: person.counter,
      enrolledAt: new Date(person.enrolledAt),
      lastSignInAt: null,
      revokedAt: null,
    };
    await this.#run((p) => p.webPerson.upsert({ where: { name: person.name }, create: { name: person.name, ...data }, update: data }));
    await this.recordEvent({ at: person.enrolledAt, person: person.name, kind: 'enrolled', detail: person.passkey });
  }

  /** A person by name or by their credential id. */
  async person(by: { name: string } | { credentialId: string }): Promise<WebPersonRecord | undefined> {
    const row = await this.#run((p) => p.webPerson.findUnique({ where: by }));
    if (!row) return undefined;
    const { lastSignInAt, revokedAt, enrolledAt, ...rest } = row;
    return {
      ...rest,
      enrolledAt: enrolledAt.toISOString(),
      ...(lastSignInAt ? { lastSignInAt: iso(lastSignInAt)! } : {}),
      ...(revokedAt ? { revokedAt: iso(revokedAt)! } : {}),
    };
  }

  /** Everyone enrolled, by name. */
  async people(): Promise<WebPersonRecord[]> {
    const rows = await this.#run((p) => p.webPerson.findMany({ orderBy: [{ name: 'asc' }] }));
    return Promise.all(rows.map(async (r) => (await this.person({ name: r.name }))!));
  }

  /** A person signed in: their new session, and the authenticator's counter. */
  async signIn(person: string, counter: number, session: { idHash: string; csrf: string; at: string; expiresAt: string }): Promise<void> {
    const at = new Date(session.at);
    await this.#run((p) => p.webPerson.update({ where: { name: person }, data: { counter, lastSignInAt: at } }));
    await this.#run((p) =>
      p.webSession.create({
        data: { idHash: session.idHash, person, csrf: session.csrf, createdAt: at, expiresAt: new Date(session.expiresAt), endedAt: null },
      }),
    );
    await this.recordEvent({ at: session.at, person, kind: 'signed_in' });
  }

  /** The session with this id hash, while it lasts and its person is not revoked. */
  async session(idHash: string, at: string): Promise<WebSessionRecord | undefined> {
    const row = await this.#run((p) => p.webSession.findUnique({ where: { idHash } }));
    if (!row || row.endedAt || row.expiresAt.getTime() <= Date.parse(at)) return undefined;
    const person = await this.person({ name: row.person });
    if (!person || person.revokedAt) return undefined;
    return { person: row.person, csrf: row.csrf, expiresAt: row.expiresAt.toISOString() };
  }

  /** Ends a session (sign-out). */
  async endSession(idHash: string, at: string): Promise<void> {
    const row = await this.#run((p) => p.webSession.findUnique({ where: { idHash } }));
    if (!row || row.endedAt) return;
    await this.#run((p) => p.webSession.update({ where: { idHash }, data: { endedAt: new Date(at) } }));
    await this.recordEvent({ at, person: row.person, kind: 'signed_out' });
  }

  /** Revokes a person: no more sign-in, every session of theirs ends. False when they never enrolled. */
  async revoke(person: string, at: string): Promise<boolean> {
    const when = new Date(at);
    const { count } = await this.#run((p) => p.webPerson.updateMany({ where: { name: person }, data: { revokedAt: when } }));
    if (count === 0) return false;
    await this.#run((p) => p.webSession.updateMany({ where: { person, endedAt: null }, data: { endedAt: when } }));
    await this.#run((p) => p.webInvite.updateMany({ where: { person, usedAt: null }, data: { usedAt: when } }));
    await this.recordEvent({ at, person, kind: 'revoked' });
    return true;
  }
}
