import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ndjson from 'ndjson';
import { z } from 'zod';
import type { StreamKind, StreamName } from '../../events/index.js';
import { BmoError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { idParam, parseWith, queryInt } from './request.js';

const ReadEventsQuery = z.strictObject({ from_seq: queryInt(1).default(1) });

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

function wantsNdjson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/x-ndjson');
}

/** One entity's log from `from_seq` on: `{ stream, events }` as JSON, or one envelope a line with `Accept: application/x-ndjson`. */
async function sendStreamEvents(pipeline: Pipeline, request: FastifyRequest, reply: FastifyReply, stream: StreamName, fromSeq: number) {
  const events = pipeline.store.readStream(stream, fromSeq);
  if (wantsNdjson(request)) {
    const body = Readable.from(
      (async function* () {
        for await (const { envelope } of events) yield envelope;
      })(),
    ).pipe(ndjson.stringify());
    return reply.type('application/x-ndjson').send(body);
  }
  const out = [];
  for await (const { envelope } of events) out.push(envelope);
  return { stream, events: out };
}
