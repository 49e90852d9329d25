import { createHash, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import stableStringify from 'safe-stable-stringify';
import { z } from 'zod';
import { ID_PATTERN, type Envelope } from '../../events/index.js';
import { formatIssues } from '../../events/parse.js';
import { BmoError } from '../errors.js';
import { asOfFrom, AsOfParam, checkAsOf, type AsOf } from '../pipeline/as-of.js';
import { storedLineOf, type CommandContext, type Pipeline } from '../pipeline/pipeline.js';
import { principalOf } from './access.js';

/** Parses a body (or query) with its zod schema; a refusal names the field. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where = ''): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const { message, field } = formatIssues(result.error, where);
    // A query is a request's, not a body's; no body at all where one is needed: say that first.
    if (where === 'query') throw new BmoError('bad_request', message, { field });
    throw new BmoError('invalid_body', input === undefined && where === '' ? `the body is empty; send a JSON object (${message})` : message, { field });
  }
  return result.data;
}

/** A path segment that will name an entity: checked before it gets near a path. */
export function idParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string>)[name];
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    const shown = value && value.length > 80 ? `${value.slice(0, 80)}…` : value;
    throw new BmoError('invalid_id', `${name}: "${shown}" is not an id (1-64 characters of a-z, 0-9 and "-", starting with a letter or digit)`, { field: name });
  }
  return value;
}

/** The id joining a request's `teams.fired` line to its `teams.action` lines and its events' meta. */
export function invocationIdOf(request: FastifyRequest): string {
  const holder = request as FastifyRequest & { bmoInvocationId?: string };
  if (!holder.bmoInvocationId) {
    const given = request.headers['x-invocation-id'];
    holder.bmoInvocationId = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
  }
  return holder.bmoInvocationId;
}

/** Who and why, If-Match and Idempotency-Key: what a command carries besides its body. */
export function commandContext(request: FastifyRequest): CommandContext {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const principal = principalOf(request);
  const context: CommandContext = { invocationId: invocationIdOf(request), actor: principal.credential_id };
  const session = header('x-session-id');
  if (session !== undefined) {
    if (!ID_PATTERN.test(session)) throw new BmoError('invalid_id', 'X-Session-Id: not a session id', { field: 'X-Session-Id' });
    context.sessionId = session;
  } else if (principal.role === 'agent' && principal.session_id !== undefined) {
    // An agent's writes carry its own session (access.ts refused any other).
    context.sessionId = principal.session_id;
  }
  const ifMatch = header('if-match');
  if (ifMatch !== undefined) {
    const match = /^(?:W\/)?"?(\d+)"?$/.exec(ifMatch.trim());
    if (!match) throw new BmoError('bad_request', `If-Match: "${ifMatch}" is not a version; send the number from the ETag you read`, { field: 'If-Match' });
    context.expectedVersion = Number(match[1]);
  }
  const key = header('idempotency-key');
  if (key !== undefined) {
    if (key.length === 0 || key.length > 200) throw new BmoError('bad_request', 'Idempotency-Key: must be 1-200 characters', { field: 'Idempotency-Key' });
    context.idempotencyKey = key;
    // The body with its keys sorted: the same request in another key order is the same request.
    context.requestHash = createHash('sha256')
      .update(`${request.method} ${request.url.split('?')[0]}\n${stableStringify(request.body ?? null)}`)
      .digest('hex');
  }
  return context;
}

/** A command's answer: its events, and the version and position they reached. */
/**
 * A command's answer: `extra`, the entity's version and `pos` (the last event the request wrote,
 * unless it wrote more than `envelopes` hold: a heartbeat's renewals), then the events.
 */
export function sendCommandResult(reply: FastifyReply, status: number, envelopes: Envelope[], extra: Record<string, unknown> = {}, pos = envelopes.at(-1)?.pos) {
  const last = envelopes[envelopes.length - 1];
  if (last) void reply.header('etag', `"${last.seq}"`);
  // Object.assign rather than a spread: the spread makes a dictionary-mode object, several times slower to serialise.
  const head = Object.assign({}, extra, { version: last?.seq, pos });
  const spliced = splicedResult(head, envelopes);
  if (spliced !== undefined) return reply.code(status).type(JSON_TYPE).send(spliced);
  return reply.code(status).send(Object.assign(head, { events: envelopes }));
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The same text as `JSON.stringify({ ...head, events })`, with each event copied from the line it
 * was stored as (a stored line is its envelope's JSON) instead of serialised again. Undefined when
 * an envelope's line is not known: the caller serialises as usual.
 */
function splicedResult(head: Record<string, unknown>, envelopes: Envelope[]): string | undefined {
  if (envelopes.length === 0 || 'events' in head) return undefined;
  let events = '';
  for (let i = 0; i < envelopes.length; i++) {
    const line = storedLineOf(envelopes[i]);
    if (!line) return undefined;
    events += (i > 0 ? ',' : '') + line.toString('utf8', 0, line.length - 1);
  }
  const fields = JSON.stringify(head);
  return `${fields.slice(0, -1)},"events":[${events}]}`;
}

/** The id a create answered with: on an idempotent retry, the one the first request created, not a fresh one. */
export function createdId(envelopes: Envelope[], field: string, generated: string): string {
  const id = (envelopes[0]?.data as Record<string, unknown> | undefined)?.[field];
  return typeof id === 'string' ? id : generated;
}

export function newId(): string {
  return randomUUID();
}

export const AsOfQuery = z.object({ as_of: AsOfParam.optional() });

/** The query of a read whose only parameter is `as_of`: another (a misspelt `asof`) is refused, never answered as if live. */
export const AsOfOnly = z.strictObject({ as_of: AsOfParam.optional() });

/** The query of a read that takes none: any parameter is refused, never silently answered as if it were not there. */
export const NoQuery = z.strictObject({});

/** `?as_of=<pos|time>` of a read: a point the log has reached, or undefined for the live answer. */
export function asOfOf(request: FastifyRequest, pipeline: Pipeline): AsOf | undefined {
  const { as_of } = parseWith(AsOfQuery, request.query, 'query');
  if (as_of === undefined) return undefined;
  const point = asOfFrom(as_of) as AsOf; // checked by AsOfQuery
  checkAsOf(point, pipeline.store.head(), pipeline.now());
  return point;
}
