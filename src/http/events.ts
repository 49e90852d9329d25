import { PassThrough, Readable, pipeline as pipeStreams } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamKind, StreamName } from '../../events/index.js';
import { BmoError } from '../errors.js';
import { principalOf, streamAllowed } from './access.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { streamFilter } from '../store/index.js';
import { decodeCursor, encodeCursor, linkNext, listOf } from './paging.js';
import { idParam, parseWith } from './request.js';
import { EventsSince, ReadEventsQuery } from './schemas.js';

/**
 * `GET /v1/<kind>/{id}/events?from_seq=N&limit=&cursor=`: one entity's log, a page of it by seq as
 * JSON, or the whole of it from there as NDJSON; `404` (naming the `noun`) for a log that holds no event.
 */
export function logRoute(app: FastifyInstance, pipeline: Pipeline, kind: StreamKind, noun: string): void {
  app.get(`/v1/${kind}/:id/events`, async (request, reply) => {
    const id = idParam(request, 'id');
    const query = parseWith(ReadEventsQuery, request.query, 'query');
    const stream: StreamName = `${kind}/${id}`;
    if (pipeline.store.version(stream) === 0) throw new BmoError('not_found', `no ${noun} ${id}`, { field: 'id' });
    const fromSeq = query.cursor === undefined ? query.from_seq : Math.max(query.from_seq, lastSeqOf(query.cursor, listOf(request)) + 1);
    if (wantsNdjson(request)) return sendNdjson(pipeline, reply, stream, fromSeq);
    return sendPage(pipeline, request, reply, stream, fromSeq, query.limit);
  });
}

/**
 * `GET /v1/events?from_pos=N&filter=teams/<id>,workstreams/*&limit=100`: committed events after a
 * position across the streams the filter names, a page at a time; `next` is where to resume.
 */
export function eventsSinceRoute(app: FastifyInstance, pipeline: Pipeline): void {
  app.get('/v1/events', async (request) => {
    const { from_pos, filter, limit } = parseWith(EventsSince, request.query, 'query');
    const principal = principalOf(request);
    const wanted = streamFilter(filter)!;
    // A credential sees only its own streams: the rest of the log is skipped as if filtered out.
    const matches = principal.role === 'admin' ? wanted : (stream: string) => wanted(stream) && streamAllowed(pipeline.readModels, principal, stream);
    const { events, next } = await pipeline.store.readAll(from_pos, { filter: matches, limit });
    const head = pipeline.store.head();
    // Past the head, next could never reach it: a reader paging until next equals head would never stop.
    if (from_pos > head) throw new BmoError('bad_request', `from_pos: ${from_pos} is beyond the head of the log (${head}); ask for ${head} or less`, { field: 'query.from_pos' });
    return { from_pos, next, head, events: events.map((e) => e.envelope) };
  });
}

function wantsNdjson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/x-ndjson');
}

/** A log's cursor holds the last seq of the page before. */
function lastSeqOf(cursor: string, list: string): number {
  const [seq] = decodeCursor(cursor, list);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) throw new BmoError('bad_request', 'cursor: not a cursor of this log; pass the next_cursor of the page before unchanged', { field: 'cursor' });
  return seq;
}

/** The log from `fromSeq` on, one envelope a line, streamed as stored and as the client takes it: never the whole body in memory. */
function sendNdjson(pipeline: Pipeline, reply: FastifyReply, stream: StreamName, fromSeq: number) {
  // Bytes, not objects: the stream reads a chunk ahead of what the socket took, no more.
  const source = Readable.from(pipeline.store.readLines(stream, fromSeq), { objectMode: false });
  // pipeline, not pipe: a read error mid-log destroys the body (fastify then ends the response), never goes unhandled.
  const body = pipeStreams(source, new PassThrough(), (error) => error && reply.log.warn({ err: error }, 'reading a log for an NDJSON answer failed; the response was cut off'));
  return reply.type('application/x-ndjson').send(body);
}

/**
 * `{ stream, events, next_cursor }`: at most `limit` events from `fromSeq`; the read stops there.
 * The events are their stored lines as they are (each the envelope's JSON), not parsed and
 * serialised again: a page of a long log costs the event loop little.
 */
async function sendPage(pipeline: Pipeline, request: FastifyRequest, reply: FastifyReply, stream: StreamName, fromSeq: number, limit: number) {
  const chunks: Buffer[] = [];
  for await (const chunk of pipeline.store.readLines(stream, fromSeq, limit)) chunks.push(chunk);
  // A stream's seqs run 1, 2, 3…: the page's last event is the count-th from fromSeq.
  const count = countLines(chunks);
  const last = count > 0 ? fromSeq + count - 1 : undefined;
  const next = last !== undefined && last < pipeline.store.version(stream) ? encodeCursor([last], listOf(request)) : undefined;
  linkNext(request, reply, next);
  const body = jsonBody(`{"stream":${JSON.stringify(stream)},"events":`, chunks, `,"next_cursor":${JSON.stringify(next ?? null)}}`);
  return reply.type('application/json; charset=utf-8').send(body);
}

function countLines(chunks: Buffer[]): number {
  let count = 0;
  for (const chunk of chunks) for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, nl + 1)) count++;
  return count;
}

/** `head`, the newline-ended JSON lines as one JSON array (a line's JSON holds no raw newline), then `tail`: one copy. */
function jsonBody(head: string, lines: Buffer[], tail: string): Buffer {
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail) + 2;
  for (const chunk of lines) size += chunk.length;
  const body = Buffer.allocUnsafe(size);
  let at = body.write(head);
  const open = at;
  body[at++] = 0x5b; // [
  for (const chunk of lines) at += chunk.copy(body, at);
  for (let nl = body.indexOf(0x0a, open); nl !== -1 && nl < at; nl = body.indexOf(0x0a, nl + 1)) body[nl] = 0x2c; // ,
  if (at > open + 1) at--; // the last line's newline became the comma before ]
  body[at++] = 0x5d; // ]
  at += body.write(tail, at);
  return body.subarray(0, at);
}
