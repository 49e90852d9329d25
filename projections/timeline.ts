import { streamKind, type Envelope } from '../events/index.js';

/** Renewals, and messages a thread, kept in full: past these, the latest are kept and the rest counted. */
export const TIMELINE_KEEP = 100;

export interface MemberSpan {
  kind: 'member';
  pos: number;
  member_id: string;
  name: string;
  role: 'lead' | 'member';
  session_id?: string;
  joined_at: string;
  left_at?: string;
  left_reason?: string;
}

export interface ClaimSpan {
  member_id: string;
  session_id?: string;
  fencing_token: number;
  claimed_at: string;
  lease_ms: number;
  lease_expires_at: string;
  /** When each renewal was appended (the latest TIMELINE_KEEP), and how many there were. */
  renewals: string[];
  renewal_count: number;
  end?: 'completed' | 'failed' | 'released' | 'reclaimed';
  reclaim_reason?: string;
  ended_at?: string;
}

export interface TaskLife {
  kind: 'task';
  pos: number;
  task_id: string;
  title: string;
  blocked_by: string[];
  created_at: string;
  claims: ClaimSpan[];
  status: 'open' | 'claimed' | 'completed' | 'failed';
  updates: number;
  ended_at?: string;
}

export interface ThreadMessage {
  message_id: string;
  from: string;
  to: string;
  sent_at: string;
  reads: { member_id: string; at: string }[];
}

/** A direct conversation between two members, or one member's broadcasts (`to` is `*`). */
export interface Thread {
  kind: 'thread';
  pos: number;
  members: [string, string];
  first_at: string;
  last_at: string;
  message_count: number;
  read_count: number;
  messages: ThreadMessage[];
}

export interface TimelineState {
  team?: {
    team_id: string;
    name: string;
    lead_member_id: string;
    lead_session_id?: string;
    created_at: string;
    pos: number;
    shutdown?: { at: string; pos: number; reason?: string };
    removed?: { at: string; pos: number; reason: string };
  };
  events: number;
  last_pos: number;
  last_at?: string;
  members: MemberSpan[];
  /** The open span of each member (a member who left and joined again has two spans). */
  current: Map<string, MemberSpan>;
  tasks: Map<string, TaskLife>;
  threads: Map<string, Thread>;
  messageThread: Map<string, string>;
  lead: { last_heartbeat_at?: string; lease_ms?: number; ended?: { at: string; pos: number; reason?: string } };
}

function threadKey(from: string, to: string): { key: string; members: [string, string] } {
  if (to === '*') return { key: `${from}\u0000*`, members: [from, '*'] };
  const members: [string, string] = from < to ? [from, to] : [to, from];
  return { key: members.join('\u0000'), members };
}

function evolveTask(state: TimelineState, event: Envelope): void {
  if (event.type === 'task_created') {
    const d = event.data;
    state.tasks.set(d.task_id, { kind: 'task', pos: event.pos, task_id: d.task_id, title: d.title, blocked_by: d.blocked_by ?? [], created_at: event.at, claims: [], status: 'open', updates: 0 });
    return;
  }
  const data = event.data as { task_id?: string };
  const task = data.task_id === undefined ? undefined : state.tasks.get(data.task_id);
  if (!task) return;
  const claim = task.claims.at(-1);
  const open = claim && claim.end === undefined ? claim : undefined;
  switch (event.type) {
    case 'task_claimed': {
      const d = event.data;
      if (open && open.fencing_token === d.fencing_token) {
        open.renewal_count++;
        open.renewals.push(event.at);
        if (open.renewals.length > TIMELINE_KEEP) open.renewals.shift();
        open.lease_expires_at = d.lease_expires_at;
        break;
      }
      // A lapsed claim taken over by the next one ends where the new one starts.
      if (open) Object.assign(open, { end: 'reclaimed', reclaim_reason: 'lease_expired', ended_at: event.at });
      task.claims.push({ member_id: d.member_id, session_id: d.session_id, fencing_token: d.fencing_token, claimed_at: event.at, lease_ms: d.lease_ms, lease_expires_at: d.lease_expires_at, renewals: [], renewal_count: 0 });
      task.status = 'claimed';
      break;
    }
    case 'task_released':
    case 'task_reclaimed':
      if (open) Object.assign(open, { end: event.type === 'task_released' ? 'released' : 'reclaimed', ended_at: event.at, reclaim_reason: event.type === 'task_reclaimed' ? event.data.reason : undefined });
      task.status = 'open';
      break;
    case 'task_completed':
    case 'task_failed': {
      const status = event.type === 'task_completed' ? 'completed' : 'failed';
      if (open) Object.assign(open, { end: status, ended_at: event.at });
      task.status = status;
      task.ended_at = event.at;
      break;
    }
    case 'task_updated':
      task.updates++;
      if (event.data.title !== undefined) task.title = event.data.title;
      if (event.data.blocked_by !== undefined) task.blocked_by = event.data.blocked_by;
      break;
  }
}

function evolveMessage(state: TimelineState, event: Envelope): void {
  if (event.type === 'message_sent') {
    const d = event.data;
    const { key, members } = threadKey(d.from, d.to);
    let thread = state.threads.get(key);
    if (!thread) state.threads.set(key, (thread = { kind: 'thread', pos: event.pos, members, first_at: event.at, last_at: event.at, message_count: 0, read_count: 0, messages: [] }));
    thread.message_count++;
    thread.last_at = event.at;
    thread.messages.push({ message_id: d.message_id, from: d.from, to: d.to, sent_at: event.at, reads: [] });
    if (thread.messages.length > TIMELINE_KEEP) thread.messages.shift();
    state.messageThread.set(d.message_id, key);
  } else if (event.type === 'message_read') {
    const thread = state.threads.get(state.messageThread.get(event.data.message_id) ?? '');
    if (!thread) return;
    thread.read_count++;
    thread.messages.find((m) => m.message_id === event.data.message_id)?.reads.push({ member_id: event.data.member_id, at: event.at });
  }
}

function evolveTeamLife(state: TimelineState, event: Envelope): void {
  switch (event.type) {
    case 'team_created': {
      const d = event.data;
      state.team = { team_id: d.team_id, name: d.name, lead_member_id: d.lead_member_id, lead_session_id: d.lead_session_id, created_at: event.at, pos: event.pos };
      break;
    }
    case 'member_joined': {
      const d = event.data;
      const span: MemberSpan = { kind: 'member', pos: event.pos, member_id: d.member_id, name: d.name, role: d.role, session_id: d.session_id, joined_at: event.at };
      state.members.push(span);
      state.current.set(d.member_id, span);
      break;
    }
    case 'member_session_moved': {
      const span = state.current.get(event.data.member_id);
      if (span) span.session_id = event.data.session_id;
      if (state.team && event.data.member_id === state.team.lead_member_id) state.team.lead_session_id = event.data.session_id;
      break;
    }
    case 'member_left': {
      const span = state.current.get(event.data.member_id);
      if (span) Object.assign(span, { left_at: event.at, left_reason: event.data.reason });
      state.current.delete(event.data.member_id);
      break;
    }
    case 'team_shutdown':
      if (state.team) state.team.shutdown = { at: event.at, pos: event.pos, reason: event.data.reason };
      break;
    case 'team_removed':
      if (state.team) state.team.removed = { at: event.at, pos: event.pos, reason: event.data.reason };
      break;
  }
}

/** The lead's own session log tells when the lead went gone: it ended, or its lease lapsed. */
function evolveLeadSession(state: TimelineState, event: Envelope): void {
  switch (event.type) {
    case 'session_started':
      state.lead = { last_heartbeat_at: event.at, lease_ms: event.data.lease_ms };
      break;
    case 'session_heartbeat':
      state.lead.last_heartbeat_at = event.at;
      if (event.data.lease_ms !== undefined) state.lead.lease_ms = event.data.lease_ms;
      break;
    case 'session_ended':
      state.lead.ended = { at: event.at, pos: event.pos, reason: event.data.reason };
      break;
  }
}

/**
 * A team's timeline, folded from its own log (then its lead session's): who joined and left, each
 * task's life, the message threads, when the lead went gone. Pure, like every projection; since it
 * reads logs alone, a removed team keeps its timeline.
 */
export const teamTimelineProjection = {
  name: 'team-timeline',
  version: 1,
  initialState: (): TimelineState => ({ events: 0, last_pos: 0, members: [], current: new Map(), tasks: new Map(), threads: new Map(), messageThread: new Map(), lead: {} }),
  evolve(state: TimelineState, event: Envelope): TimelineState {
    if (streamKind(event.stream) === 'sessions') {
      evolveLeadSession(state, event);
      return state;
    }
    state.events++;
    state.last_pos = event.pos;
    state.last_at = event.at;
    if (event.type.startsWith('task_')) evolveTask(state, event);
    else if (event.type.startsWith('message_')) evolveMessage(state, event);
    else evolveTeamLife(state, event);
    return state;
  },
};

const between = (from: string, to: string | undefined) => (to === undefined ? undefined : Date.parse(to) - Date.parse(from));

/** When and how the lead went gone, if it did by `now`: its session ended or lapsed (or a cleanup removed the team). */
function leadGone(state: TimelineState, now: Date) {
  const { lead } = state;
  if (lead.ended) return { how: 'ended' as const, at: lead.ended.at, reason: lead.ended.reason };
  if (lead.last_heartbeat_at !== undefined && lead.lease_ms !== undefined) {
    const lapse = Date.parse(lead.last_heartbeat_at) + lead.lease_ms;
    if (lapse <= now.getTime()) return { how: 'lapsed' as const, at: new Date(lapse).toISOString() };
  }
  if (state.team?.removed?.reason === 'cleanup') return { how: 'cleanup' as const, at: state.team.removed.at };
  return undefined;
}

export type TimelineEntry = ReturnType<typeof presentEntry>;

function presentEntry(entry: MemberSpan | TaskLife | Thread, until: string) {
  switch (entry.kind) {
    case 'member':
      return { ...entry, active_ms: between(entry.joined_at, entry.left_at ?? until) };
    case 'task': {
      const firstClaim = entry.claims[0]?.claimed_at;
      return {
        ...entry,
        wait_ms: between(entry.created_at, firstClaim),
        duration_ms: between(entry.created_at, entry.ended_at),
        claims: entry.claims.map((c) => ({ ...c, held_ms: between(c.claimed_at, c.ended_at ?? until) })),
      };
    }
    case 'thread':
      return { ...entry, span_ms: between(entry.first_at, entry.last_at) };
  }
}

/** Members, tasks and threads in the order they began (by pos): what the timeline pages over. */
export function timelineEntries(state: TimelineState): (MemberSpan | TaskLife | Thread)[] {
  return [...state.members, ...state.tasks.values(), ...state.threads.values()].sort((a, b) => a.pos - b.pos);
}

/**
 * The timeline as served: the team's life and lead in a header, then `entries` (a page of
 * `timelineEntries`) with their durations. Open spans are measured up to the team's removal, or
 * else its last event.
 */
export function presentTimeline(state: TimelineState, options: { now: Date; entries: (MemberSpan | TaskLife | Thread)[]; total: number }) {
  const team = state.team!;
  const until = team.removed?.at ?? state.last_at ?? team.created_at;
  const leadSpan = state.members.find((m) => m.member_id === team.lead_member_id);
  return {
    team: { ...team, status: team.removed ? 'removed' : team.shutdown ? 'shutdown' : 'active', until, duration_ms: between(team.created_at, until) },
    lead: { member_id: team.lead_member_id, name: leadSpan?.name, session_id: team.lead_session_id, gone: leadGone(state, options.now) ?? null },
    counts: { events: state.events, members: state.members.length, tasks: state.tasks.size, threads: state.threads.size, entries: options.total },
    last_pos: state.last_pos,
    entries: options.entries.map((entry) => presentEntry(entry, until)),
  };
}

export type PresentedTimeline = ReturnType<typeof presentTimeline>;
