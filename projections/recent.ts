import { idIn, streamKind, type Envelope } from '../events/index.js';
import { CREDENTIALS_STREAM } from './credentials.js';
import type { Projection } from './types.js';

export const RING_CAPACITY = 256;

/** What the ring keeps of an event: identifiers and times, never names, goals or bodies. */
export interface RecentEvent {
  pos: number;
  at: string;
  stream: string;
  seq: number;
  type: string;
  team_id?: string;
  task_id?: string;
  member_id?: string;
  message_id?: string;
  outcome?: string;
  /** On a forwarding server: the host of the remote teams server the event is from. */
  remote?: string;
}

const IDS = ['task_id', 'member_id', 'message_id'] as const;

/** A team's own events, and the store-wide ones about teams (cleanups, remote health; not credentials, nor an operation's bookkeeping). */
export function aboutTeams(stream: string): boolean {
  const kind = streamKind(stream);
  return kind === 'teams' || (kind === 'system' && stream !== CREDENTIALS_STREAM && stream !== 'system/operations');
}

export function recentEventOf(event: Envelope): RecentEvent {
  const data = event.data as Record<string, unknown>;
  const recent: RecentEvent = { pos: event.pos, at: event.at, stream: event.stream, seq: event.seq, type: event.type };
  const teamId = idIn('teams', event.stream);
  if (teamId !== undefined) recent.team_id = teamId;
  for (const key of IDS) if (typeof data[key] === 'string') recent[key] = data[key] as string;
  if (event.type === 'remote_failed') recent.outcome = String(data.kind);
  if (event.type === 'cleanup_completed') recent.outcome = `removed=${data.removed} scope=${data.scope} outcome=${data.outcome ?? 'completed'}`;
  return recent;
}

/**
 * The last 256 team events (and the store-wide events about teams: cleanups, remote health), kept
 * in pos order whatever order they are folded in.
 */
export const recentTeamEvents: Projection<RecentEvent[]> = {
  name: 'recent-team-events',
  version: 1,
  handles: ['teams', 'system'],
  initialState: () => [],
  merge: (ring, part) => (part.length === 0 ? ring : [...ring, ...part].sort((a, b) => a.pos - b.pos).slice(-RING_CAPACITY)),
  evolve(ring, event) {
    if (!aboutTeams(event.stream)) return ring;
    if (ring.length === RING_CAPACITY && event.pos < ring[0].pos) return ring;
    let i = ring.length;
    while (i > 0 && ring[i - 1].pos > event.pos) i--;
    ring.splice(i, 0, recentEventOf(event));
    if (ring.length > RING_CAPACITY) ring.shift();
    return ring;
  },
};

/** `list_recent_team_events(limit)`: the newest `limit` events, oldest first. */
export function listRecentTeamEvents(ring: RecentEvent[], limit = 16): RecentEvent[] {
  return ring.slice(Math.max(0, ring.length - limit));
}
