import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BmoError } from '../errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares in constant time (over digests, so the length of the token leaks nothing either). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/** The bearer token of a request: the Authorization header, or `?token=` where a browser cannot set headers. */
export function bearerOf(request: FastifyRequest, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header) return /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (allowQuery) {
    const query = request.query as Record<string, unknown> | undefined;
    if (typeof query?.token === 'string') return query.token;
  }
  return undefined;
}

export function checkBearer(expected: string, request: FastifyRequest, allowQuery = false): void {
  const given = bearerOf(request, allowQuery);
  if (given === undefined) {
    throw new BmoError('unauthorized', 'missing bearer token: send Authorization: Bearer <token> (the token is in data/auth-token, or BMO_TOKEN)');
  }
  if (!tokenMatches(expected, given)) throw new BmoError('unauthorized', 'wrong bearer token: use the one in data/auth-token, BMO_TOKEN or [server] token');
}
