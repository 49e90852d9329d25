import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import ndjson from 'ndjson';
import { z } from 'zod';
import type { StreamName } from '../../events/index.js';
import type { Pipeline } from '../pipeline/pipeline.js';

export const ReadEventsQuery = z.strictObject({ from_seq: z.coerce.number().int().min(1).default(1) });

export function wantsNdjson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/x-ndjson');
}

/** One entity's log from `from_seq` on: `{ stream, events }` as JSON, or one envelope a line with `Accept: application/x-ndjson`. */
export async function sendStreamEvents(pipeline: Pipeline, request: FastifyRequest, reply: FastifyReply, stream: StreamName, fromSeq: number) {
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
