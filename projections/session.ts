import { idIn, type Envelope } from '../events/index.js';
import { mergeByKey, type Projection } from './types.js';

export interface SessionView {
  session_id: string;
  agent?: string;
  parent_session_id?: string;
  lease_ms: number;
  started_at: string;
  last_heartbeat_at: string;
  ended_at?: string;
  ended_reason?: string;
  version: number;
}

/** Folds one session event into its session (created by `session_started`). */
export function evolveSession(session: SessionView | undefined, event: Envelope): SessionView | undefined {
  switch (event.type) {
    case 'session_started':
      return {
        session_id: event.data.session_id,
        agent: event.data.agent,
        parent_session_id: event.data.parent_session_id,
        lease_ms: event.data.lease_ms,
        started_at: event.at,
        last_heartbeat_at: event.at,
        version: event.seq,
      };
    case 'session_heartbeat':
      if (!session) return session;
      session.last_heartbeat_at = event.at;
      if (event.data.lease_ms !== undefined) session.lease_ms = event.data.lease_ms;
      session.version = event.seq;
      return session;
    case 'session_ended':
      if (!session) return session;
      session.ended_at = event.at;
      session.ended_reason = event.data.reason;
      session.version = event.seq;
      return session;
    default:
      return session;
  }
}

/** When the session's lease lapses unless it heartbeats again. */
export function leaseExpiry(session: SessionView): number {
  return Date.parse(session.last_heartbeat_at) + session.lease_ms;
}

/** A session exists while it has not ended and its lease has not lapsed. */
export function sessionAlive(session: SessionView | undefined, now: Date): boolean {
  return session !== undefined && session.ended_at === undefined && leaseExpiry(session) > now.getTime();
}

export function sessionState(session: SessionView | undefined, now: Date): 'alive' | 'ended' | 'lapsed' | 'unknown' {
  if (!session) return 'unknown';
  if (session.ended_at !== undefined) return 'ended';
  return leaseExpiry(session) > now.getTime() ? 'alive' : 'lapsed';
}

export const sessionsProjection: Projection<Map<string, SessionView>> = {
  name: 'sessions',
  version: 1,
  handles: ['sessions'],
  initialState: () => new Map(),
  merge: mergeByKey,
  evolve(sessions, event) {
    const id = idIn('sessions', event.stream);
    if (id === undefined) return sessions;
    const next = evolveSession(sessions.get(id), event);
    if (next) sessions.set(id, next);
    return sessions;
  },
};
