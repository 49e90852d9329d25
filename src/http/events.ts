import { Readable, pipeline as pipeStreams } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ndjson from 'ndjson';
import type { StreamKind, StreamName } from '../../events/index.js';
import { BmoError } from '../errors.js';
import { principalOf, streamAllowed } from './access.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { streamFilter } from '../store/index.js';
import { idParam, parseWith } from './request.js';
import { EventsSince, ReadEventsQuery } from './schemas.js';

/**
 * `GET /v1/<kind>/{id}/events?from_seq=N`: one entity's log, as JSON or as NDJSON; `404` (naming
 * the `noun`) for a log that holds no event.
 */
export function logRoute(app: FastifyInstance, pipeline: Pipeline, kind: StreamKind, noun: string): void {
  app.get(`/v1/${kind}/:id/events`, async (request, reply) => {
    const id = idParam(request, 'id');
    const { from_seq } = parseWith(ReadEventsQuery, request.query, 'query');
    const stream: StreamName = `${kind}/${id}`;
    if (pipeline.store.version(stream) === 0) throw new BmoError('not_found', `no ${noun} ${id}`, { field: 'id' });
    return sendStreamEvents(pipeline, request, reply, stream, from_seq);
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
    return { from_pos, next, head: pipeline.store.head(), events: events.map((e) => e.envelope) };
  });
}

function wantsNdjson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/x-ndjson');
}

/** One entity's log from `from_seq` on: `{ stream, events }` as JSON, or one envelope a line with `Accept: application/x-ndjson`. */
async function sendStreamEvents(pipeline: Pipeline, request: FastifyRequest, reply: FastifyReply, stream: StreamName, fromSeq: number) {
  const events = pipeline.store.readStream(stream, fromSeq);
  if (wantsNdjson(request)) {
    const source = Readable.from(
      (async function* () {
        for await (const { envelope } of events) yield envelope;
      })(),
    );
    // pipeline, not pipe: a read error mid-log destroys the body (fastify then ends the response), never goes unhandled.
    const body = pipeStreams(source, ndjson.stringify(), (error) => error && request.log.warn({ err: error }, 'reading a log for an NDJSON answer failed; the response was cut off'));
    return reply.type('application/x-ndjson').send(body);
  }
  const out = [];
  for await (const { envelope } of events) out.push(envelope);
  return { stream, events: out };
}
