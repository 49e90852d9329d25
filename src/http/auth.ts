import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CredentialRole } from '../../events/index.js';
import { credentialLapse, type CredentialsState } from '../../projections/credentials.js';
import { BmoError } from '../errors.js';

/** Who makes a request, resolved once from its bearer token: what every rule and `meta.actor` read. */
export interface Principal {
  credential_id: string;
  role: CredentialRole;
  /** An agent's member id, in every team it acts in. */
  member_id?: string;
  /** An agent's session: the one its credential names, else the latest it started. */
  session_id?: string;
  scope: { teams: '*' | string[]; workstreams: string[] };
}

/** The actor of the configured token (`[server] token`, BMO_TOKEN, data/auth-token). */
export const ADMIN_ACTOR = 'admin';
export const ADMIN: Principal = Object.freeze({ credential_id: ADMIN_ACTOR, role: 'admin', scope: Object.freeze({ teams: '*', workstreams: [] }) }) as Principal;

/** `bmo_<credential_id>_<secret>`: the id is an id (no `_`), the secret 32 random bytes in base64url. */
const CREDENTIAL_TOKEN = /^bmo_([a-z0-9][a-z0-9-]{0,63})_([A-Za-z0-9_-]{43})$/;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A 256-bit random secret needs no slow hash: sha-256 of it cannot be reversed by guessing. */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

export function credentialToken(credentialId: string, secret: string): string {
  return `bmo_${credentialId}_${secret}`;
}

/** Compared against when the id is unknown, so that an unknown id and a wrong secret take the same work. */
const DECOY_HASH = hashSecret('decoy');
const REFUSED = 'unknown credential or wrong secret: use the token bmo token issue printed, whole (bmo_<id>_<secret>)';

/**
 * The principal a bearer token stands for: the configured token is admin; a `bmo_…` token is the
 * credential it names, if its secret matches and it is neither revoked nor expired. An unknown id
 * and a wrong secret get the same answer; which of revoked or expired is said only to the holder.
 */
export function resolvePrincipal(adminToken: string, given: string, credentials: CredentialsState, now: Date): Principal {
  if (tokenMatches(adminToken, given)) return ADMIN;
  if (!given.startsWith('bmo_')) throw new BmoError('unauthorized', 'wrong bearer token: use the one in data/auth-token, BMO_TOKEN or [server] token, or a credential from bmo token issue');
  const match = CREDENTIAL_TOKEN.exec(given);
  if (!match) throw new BmoError('unauthorized', 'malformed credential token: it reads bmo_<credential id>_<43-character secret>, as bmo token issue printed it');
  const credential = credentials.credentials.get(match[1]);
  const want = Buffer.from(credential?.secret_hash ?? DECOY_HASH);
  const equal = timingSafeEqual(Buffer.from(hashSecret(match[2])), want);
  if (!credential || !equal) throw new BmoError('unauthorized', REFUSED);
  const lapse = credentialLapse(credential, now);
  if (lapse) throw new BmoError('unauthorized', `credential ${credential.credential_id} ${lapse}; ask an admin for a new token (bmo token issue)`);
  return {
    credential_id: credential.credential_id,
    role: credential.role,
    member_id: credential.member_id,
    session_id: credential.session_id ?? credentials.sessions.get(credential.credential_id)?.latest,
    scope: credential.scope,
  };
}

/** The expected token's bytes, computed once per token rather than once per request. */
let expectedCache: { token: string; bytes: Buffer } | undefined;

function expectedBytes(expected: string): Buffer {
  if (expectedCache?.token !== expected) expectedCache = { token: expected, bytes: Buffer.from(expected, 'utf8') };
  return expectedCache.bytes;
}

/**
 * Compares in constant time: the work is one `timingSafeEqual` over the expected token's length
 * whatever was given, so neither the token's bytes nor its length show in the timing (a given
 * token of another length is compared as the expected token against itself, and refused).
 */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const want = expectedBytes(expected);
  const got = Buffer.from(given, 'utf8');
  const sameLength = got.length === want.length;
  const equal = timingSafeEqual(sameLength ? got : want, want);
  return sameLength && equal;
}

/** The bearer token of a request: the Authorization header, or `?token=` where a browser cannot set headers. */
export function bearerOf(request: FastifyRequest, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header) return bearerOfHeader(header);
  if (allowQuery) {
    const query = request.query as Record<string, unknown> | undefined;
    if (typeof query?.token === 'string') return query.token;
  }
  return undefined;
}

const BEARER = /^Bearer\s+(.+)$/i;

function bearerOfHeader(header: string): string | undefined {
  // The common shape, `Bearer <token>` starting and ending in printable ASCII, without the regular expression.
  if (header.startsWith('Bearer ') && isVisibleAscii(header.charCodeAt(7)) && isVisibleAscii(header.charCodeAt(header.length - 1))) return header.slice(7);
  return BEARER.exec(header)?.[1]?.trim();
}

const isVisibleAscii = (c: number) => c > 0x20 && c < 0x7f;

/** The principal of a request, from its bearer token; `401` for none, a wrong one, a revoked or an expired one. */
export function authenticate(adminToken: string, request: FastifyRequest, credentials: CredentialsState, now: Date, allowQuery = false): Principal {
  const given = bearerOf(request, allowQuery);
  if (given === undefined) {
    throw new BmoError('unauthorized', 'missing bearer token: send Authorization: Bearer <token> (the token is in data/auth-token, or BMO_TOKEN)');
  }
  return resolvePrincipal(adminToken, given, credentials, now);
}
