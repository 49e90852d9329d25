import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BmoError } from '../errors.js';

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

export function checkBearer(expected: string, request: FastifyRequest, allowQuery = false): void {
  const given = bearerOf(request, allowQuery);
  if (given === undefined) {
    throw new BmoError('unauthorized', 'missing bearer token: send Authorization: Bearer <token> (the token is in data/auth-token, or BMO_TOKEN)');
  }
  if (!tokenMatches(expected, given)) throw new BmoError('unauthorized', 'wrong bearer token: use the one in data/auth-token, BMO_TOKEN or [server] token');
}
