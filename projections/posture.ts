import { listRecentTeamEvents, type RecentEvent } from './recent.js';
import { teamSummary, type TeamView } from './team.js';

export interface PostureInput {
  pos: number;
  teams: Map<string, TeamView>;
  recent: RecentEvent[];
  config: { enabled: boolean; remote_host?: string };
}

const WARN_TYPES = new Set(['task_failed', 'remote_failed', 'remote_degraded']);

/**
 * The teams posture snapshot: the one view the CLI, HTTP, the WebSocket and the dashboard read,
 * labelled with the position it reflects.
 */
export function buildPosture(input: PostureInput) {
  const teams = [...input.teams.values()].filter((t) => t.status !== 'removed').map(teamSummary);
  const active = teams.filter((t) => t.status === 'active' && (t.tasks.claimed > 0 || t.tasks.ready > 0)).length;
  const blocked = teams.filter((t) => t.status === 'active' && t.tasks.blocked > 0 && t.tasks.claimed === 0 && t.tasks.ready === 0).length;
  const recent = listRecentTeamEvents(input.recent, 16);
  return {
    pos: input.pos,
    config: input.config,
    team_count: teams.length,
    active_count: active,
    blocked_count: blocked,
    remote_degraded: false,
    teams,
    recent,
    chip: chipOf(active, blocked, recent),
  };
}

export type PostureSnapshot = ReturnType<typeof buildPosture>;

/** The sidebar chip: `warn: <action>` when the recent tail shows a failure, else activity. */
export function chipOf(active: number, blocked: number, recent: RecentEvent[]): string {
  const warn = [...recent].reverse().find((e) => WARN_TYPES.has(e.type));
  if (warn) return `warn: ${warn.type}`;
  if (active > 0) return `${active} active`;
  if (blocked > 0) return `${blocked} blocked`;
  return 'idle';
}
