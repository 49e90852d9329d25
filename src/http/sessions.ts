import type { FastifyInstance } from 'fastify';
import { sessionState, leaseExpiry, type SessionView } from '../../projections/session.js';
import { sessionEntity } from '../domain/sessions.js';
import { BmoError } from '../errors.js';
import { heartbeat } from '../pipeline/operations.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { TeamsTelemetry } from '../telemetry/teams.js';
import { logRoute } from './events.js';
import { commandContext, createdId, idParam, invocationIdOf, newId, NoQuery, parseWith, sendCommandResult } from './request.js';
import { page } from './paging.js';
import { EndSession, Heartbeat, ListSessions, StartSession } from './schemas.js';

export function presentSession(session: SessionView, now: Date) {
  return { ...session, state: sessionState(session, now), lease_expires_at: new Date(leaseExpiry(session)).toISOString() };
}

/** Sessions: a lead or member registers, heartbeats to keep its lease (and its claims'), and ends. */
export async function sessionRoutes(
  app: FastifyInstance,
  { pipeline, defaultLeaseMs, telemetry }: { pipeline: Pipeline; defaultLeaseMs: number; telemetry?: TeamsTelemetry },
): Promise<void> {
  app.get('/v1/sessions', async (request, reply) => {
    const query = parseWith(ListSessions, request.query, 'query');
    const now = pipeline.now();
    // Oldest first (started_at, then id): the same order whatever order the logs were replayed in on startup.
    const sessions = [...pipeline.readModels.sessions.values()].sort((a, b) => (a.started_at === b.started_at ? (a.session_id < b.session_id ? -1 : 1) : a.started_at < b.started_at ? -1 : 1));
    const { items, next_cursor } = page(request, reply, sessions, (s) => [s.started_at, s.session_id], query);
    return { pos: pipeline.readModels.pos, sessions: items.map((s) => presentSession(s, now)), next_cursor };
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
    return sendCommandResult(reply, 201, envelopes, { session_id: createdId(envelopes, 'session_id', id) });
  });

  app.get('/v1/sessions/:id', async (request) => {
    const id = idParam(request, 'id');
    parseWith(NoQuery, request.query, 'query');
    const session = pipeline.readModels.sessions.get(id);
    if (!session) throw new BmoError('not_found', `no session ${id}`, { field: 'id' });
    return presentSession(session, pipeline.now());
  });

  logRoute(app, pipeline, 'sessions', 'session');

  app.post('/v1/sessions/:id/heartbeat', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(Heartbeat, request.body);
    const { events, renewed } = await heartbeat(pipeline, id, body?.lease_ms, commandContext(request));
    // The renewals are team actions (task_claimed): their invocation gets its teams.fired line, as a lease sweep does.
    if (renewed.length > 0) telemetry?.fired({ invocation_id: invocationIdOf(request), lifecycle: 'POST /v1/sessions/:id/heartbeat', outcome: 'ok', status: 200, session_id: id });
    // Its pos is the last event it wrote, renewals included: a read as of it sees the renewed leases.
    const renewedClaims = renewed.map((e) => ({ stream: e.stream, task_id: (e.data as { task_id: string }).task_id, lease_expires_at: (e.data as { lease_expires_at: string }).lease_expires_at }));
    return sendCommandResult(reply, 200, events, { session_id: id, renewed_claims: renewedClaims }, Math.max(events.at(-1)!.pos, ...renewed.map((e) => e.pos)));
  });

  app.post('/v1/sessions/:id/end', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(EndSession, request.body);
    return sendCommandResult(reply, 200, await pipeline.execute(sessionEntity, id, { type: 'end_session', reason: body?.reason }, commandContext(request)), { session_id: id });
  });
}
