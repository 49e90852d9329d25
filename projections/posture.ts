import { listRecentTeamEvents, type RecentEvent } from './recent.js';
import type { RemoteHealth } from './remote.js';
import { sessionAlive, type SessionView } from './session.js';
import { activeMembers, teamsInOrder, teamSummary, type TeamView } from './team.js';

export interface PostureInput {
  pos: number;
  now: Date;
  teams: Map<string, TeamView>;
  sessions: Map<string, SessionView>;
  recent: RecentEvent[];
  remote: RemoteHealth;
  config: { enabled: boolean; remote_host?: string };
}

export type MemberLiveness = 'working' | 'idle' | 'stalled' | 'gone' | 'unregistered';

const WARN_TYPES = new Set(['task_failed', 'remote_failed', 'remote_degraded']);
const CLEAR_TYPES = new Set(['remote_recovered', 'remote_succeeded']);

/** Tells idle, working, stalled (holds a claim whose lease lapsed) and gone (session ended or lapsed) members apart. */
export function memberLiveness(team: TeamView, memberId: string, sessions: Map<string, SessionView>, now: Date): MemberLiveness {
  const member = team.members.get(memberId);
  if (!member?.session_id) return 'unregistered';
  if (!sessionAlive(sessions.get(member.session_id), now)) return 'gone';
  const held = [...team.tasks.values()].filter((t) => t.status === 'claimed' && t.owner === memberId);
  if (held.some((t) => t.lease_expires_at !== undefined && Date.parse(t.lease_expires_at) <= now.getTime())) return 'stalled';
  return held.length > 0 ? 'working' : 'idle';
}

/** Teams with work claimed or ready, and teams with only blocked work. */
function activity(teams: { status: string; tasks: { claimed: number; ready: number; blocked: number } }[]) {
  const active = teams.filter((t) => t.status === 'active' && (t.tasks.claimed > 0 || t.tasks.ready > 0)).length;
  const blocked = teams.filter((t) => t.status === 'active' && t.tasks.blocked > 0 && t.tasks.claimed === 0 && t.tasks.ready === 0).length;
  return { active, blocked };
}

/** Whether a team's lead session is alive: what tells an orphan (`gone`) from a team at work. */
export function leadLiveness(team: TeamView, sessions: Map<string, SessionView>, now: Date): 'alive' | 'gone' | 'unregistered' {
  if (team.lead_session_id === undefined) return 'unregistered';
  return sessionAlive(sessions.get(team.lead_session_id), now) ? 'alive' : 'gone';
}

/**
 * The teams posture snapshot: the one view the CLI, HTTP, the WebSocket and the dashboard read,
 * labelled with the position it reflects.
 */
/** The most teams a posture lists: it counts them all, and lists the ones that moved last. */
export const POSTURE_TEAMS = 50;

type PostureTeam = ReturnType<typeof teamSummary> & { lead: string; member_liveness: Record<MemberLiveness, number> };

/** Every team's row behind a snapshot, for a scoped caller's counts; the snapshot itself lists the top ones. */
const allRows = new WeakMap<object, PostureTeam[]>();

/** The `max` teams that moved last, in the order of the list (creation). */
function topTeams(teams: PostureTeam[], max: number): PostureTeam[] {
  if (teams.length <= max) return teams;
  const keep = new Set([...teams].sort((a, b) => (a.updated_at === b.updated_at ? (a.team_id < b.team_id ? -1 : 1) : a.updated_at > b.updated_at ? -1 : 1)).slice(0, max));
  return teams.filter((team) => keep.has(team));
}

export function buildPosture(input: PostureInput) {
  const live = teamsInOrder(input.teams).filter((t) => t.status !== 'removed');
  const teams = live.map((team): PostureTeam => {
    const liveness: Record<MemberLiveness, number> = { working: 0, idle: 0, stalled: 0, gone: 0, unregistered: 0 };
    for (const member of activeMembers(team)) liveness[memberLiveness(team, member.member_id, input.sessions, input.now)]++;
    const lead = leadLiveness(team, input.sessions, input.now);
    return { ...teamSummary(team), lead, member_liveness: liveness };
  });
  const { active, blocked } = activity(teams);
  const recent = listRecentTeamEvents(input.recent, 16);
  const snapshot = {
    pos: input.pos,
    config: input.config,
    team_count: teams.length,
    active_count: active,
    blocked_count: blocked,
    remote_degraded: input.remote.degraded,
    remote: input.remote,
    teams: topTeams(teams, POSTURE_TEAMS),
    recent,
    chip: chipOf(active, blocked, recent, input.remote),
  };
  allRows.set(snapshot, teams);
  return snapshot;
}

export type PostureSnapshot = ReturnType<typeof buildPosture>;

/** The snapshot as a caller scoped to some teams sees it: those teams, their recent events, their counts. */
export function scopedPosture(snapshot: PostureSnapshot, allowed: (teamId: string) => boolean): PostureSnapshot {
  const teams = (allRows.get(snapshot) ?? snapshot.teams).filter((t) => allowed(t.team_id));
  const recent = snapshot.recent.filter((e) => e.team_id !== undefined && allowed(e.team_id));
  const { active, blocked } = activity(teams);
  return { ...snapshot, team_count: teams.length, active_count: active, blocked_count: blocked, teams: topTeams(teams, POSTURE_TEAMS), recent, chip: chipOf(active, blocked, recent, snapshot.remote) };
}

/**
 * The sidebar chip: `degraded: <kind of the last failure>` while the remote is degraded, else
 * `warn: <action>` when the recent tail shows a failure arm, else activity.
 */
export function chipOf(active: number, blocked: number, recent: RecentEvent[], remote?: Pick<RemoteHealth, 'degraded' | 'last_failure_kind'>): string {
  if (remote?.degraded) return `degraded: ${remote.last_failure_kind ?? 'remote failures'}`;
  const last = [...recent].reverse().find((e) => WARN_TYPES.has(e.type) || CLEAR_TYPES.has(e.type));
  if (last && WARN_TYPES.has(last.type)) return `warn: ${last.type}`;
  if (active > 0) return `${active} active`;
  if (blocked > 0) return `${blocked} blocked`;
  return 'idle';
}

/** The remote's state in words, for the `serving on` line, `team posture` and `config show-teams`. */
export function remoteWords(host: string | undefined, remote: Pick<RemoteHealth, 'degraded' | 'degraded_since' | 'reason' | 'consecutive_failures'>): string {
  if (!host) return 'teams served here (no remote)';
  if (remote.degraded) return `remote ${host}: degraded since ${remote.degraded_since} (${remote.reason}); bmo team remote reset clears it`;
  return `remote ${host}: healthy${remote.consecutive_failures > 0 ? ` (${remote.consecutive_failures} failure(s) in a row)` : ''}`;
}
