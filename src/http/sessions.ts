import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Id } from '../../events/index.js';
import { text } from '../../events/fields.js';
import { sessionState, leaseExpiry, type SessionView } from '../../projections/session.js';
import { sessionEntity } from '../domain/sessions.js';
import { BmoError } from '../errors.js';
import { heartbeat } from '../pipeline/operations.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { commandContext, idParam, newId, parseWith, sendCommandResult } from './request.js';

const Lease = z.number().int().min(1000, 'must be at least 1000 ms').max(24 * 3600_000, 'must be at most 24 h');
const StartSession = z.strictObject({ session_id: Id.optional(), agent: text(200).optional(), parent_session_id: Id.optional(), lease_ms: Lease.optional() });
const Heartbeat = z.strictObject({ lease_ms: Lease.optional() }).optional();
const EndSession = z.strictObject({ reason: text(500).optional() }).optional();

export function presentSession(session: SessionView, now: Date) {
  return { ...session, state: sessionState(session, now), lease_expires_at: new Date(leaseExpiry(session)).toISOString() };
}

/** Sessions: a lead or member registers, heartbeats to keep its lease (and its claims'), and ends. */
export async function sessionRoutes(app: FastifyInstance, { pipeline, defaultLeaseMs }: { pipeline: Pipeline; defaultLeaseMs: number }): Promise<void> {
  app.get('/v1/sessions', async () => {
    const now = pipeline.now();
    return { pos: pipeline.readModels.pos, sessions: [...pipeline.readModels.sessions.values()].map((s) => presentSession(s, now)) };
  });

  app.post('/v1/sessions', async (request, reply) => {
    const body = parseWith(StartSession, request.body);
    const id = body.session_id ?? newId();
    const envelopes = await pipeline.execute(
      sessionEntity,
      id,
      { type: 'start_session', agent: body.agent, parent_session_id: body.parent_session_id, lease_ms: body.lease_ms ?? defaultLeaseMs },
      commandContext(request),
    );
    return sendCommandResult(reply, 201, envelopes, { session_id: id });
  });

  app.get('/v1/sessions/:id', async (request) => {
    const id = idParam(request, 'id');
    const session = pipeline.readModels.sessions.get(id);
    if (!session) throw new BmoError('not_found', `no session ${id}`, { field: 'id' });
    return presentSession(session, pipeline.now());
  });

  app.post('/v1/sessions/:id/heartbeat', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(Heartbeat, request.body);
    const { events, renewed } = await heartbeat(pipeline, id, body?.lease_ms, commandContext(request));
    return sendCommandResult(reply, 200, events, { session_id: id, renewed_claims: renewed.map((e) => ({ stream: e.stream, task_id: (e.data as { task_id: string }).task_id, lease_expires_at: (e.data as { lease_expires_at: string }).lease_expires_at })) });
  });

  app.post('/v1/sessions/:id/end', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(EndSession, request.body);
    return sendCommandResult(reply, 200, await pipeline.execute(sessionEntity, id, { type: 'end_session', reason: body?.reason }, commandContext(request)), { session_id: id });
  });
}
