import type { DomainEvent } from '../../events/index.js';
import { evolveSession, leaseExpiry, type SessionView } from '../../projections/session.js';
import { BmoError } from '../errors.js';
import type { Entity } from './entity.js';

export type SessionCommand =
  | { type: 'start_session'; agent?: string; parent_session_id?: string; lease_ms: number }
  | { type: 'heartbeat'; lease_ms?: number; renews?: string[] }
  | { type: 'end_session'; reason?: string };

/** Sessions register, heartbeat to keep their lease, and end; an ended or lapsed session is gone. */
export function decideSession(command: SessionCommand, session: SessionView | undefined, now: Date, id: string): DomainEvent[] {
  if (command.type === 'start_session') {
    if (session) throw new BmoError('conflict', `session ${id} already started at ${session.started_at}`, { field: 'session_id' });
    return [{ type: 'session_started', data: { session_id: id, agent: command.agent, parent_session_id: command.parent_session_id, lease_ms: command.lease_ms } }];
  }
  if (!session) throw new BmoError('not_found', `no session ${id}; start it with POST /v1/sessions`, { field: 'session_id' });
  if (session.ended_at) throw new BmoError('conflict', `session ${id} ended at ${session.ended_at}; start a new one`, { field: 'session_id' });
  if (command.type === 'heartbeat' && leaseExpiry(session) <= now.getTime()) {
    throw new BmoError('conflict', `session ${id} lapsed at ${new Date(leaseExpiry(session)).toISOString()} (no heartbeat within its lease); start a new session`, { field: 'session_id' });
  }
  if (command.type === 'heartbeat') return [{ type: 'session_heartbeat', data: { lease_ms: command.lease_ms, renews: command.renews?.length ? command.renews : undefined } }];
  return [{ type: 'session_ended', data: { reason: command.reason } }];
}

export const sessionEntity: Entity<SessionView, SessionCommand> = { kind: 'sessions', evolve: evolveSession, decide: decideSession };
