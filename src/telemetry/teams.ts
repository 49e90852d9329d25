import fnv from 'fnv-plus';
import type { Logger } from 'pino';
import { idIn, type Envelope } from '../../events/index.js';
import { aboutTeams } from '../../projections/recent.js';
import type { StoredEvent } from '../store/index.js';
import { perRequestChild } from './logger.js';

/** An identifier as telemetry may carry it: 8-char FNV-1a 32-bit hex, never the id itself. */
export function idHash(id: string | undefined): string | undefined {
  return id === undefined ? undefined : fnv.fast1a32hex(id);
}

/** The id a create request gave its new team when the body named none, for that request's `teams.fired` line. */
export const createdTeamIds = new WeakMap<object, string>();

/** The numbers and enums an action may carry; names, goals, bodies, free-text reasons and hosts never. */
const SAFE_FIELDS = ['removed', 'scope', 'outcome', 'kind', 'failures', 'consecutive', 'role', 'lease_ms', 'fencing_token'] as const;
const ENUM_REASONS = new Set(['team_removed', 'task_reclaimed', 'remote_recovered', 'remote_degraded']);

export interface TeamsTelemetry {
  /** `teams.fired`: one per lifecycle invocation (an HTTP request on a team route, a sweep, a CLI verb). */
  fired(record: { invocation_id: string; lifecycle: string; outcome: 'ok' | 'refused' | 'failed'; status?: number; team_id?: string; session_id?: string; actor?: string; error?: string }): void;
  /** `teams.action` lines for the committed team and store-wide events of a batch. */
  actions(batch: StoredEvent[]): void;
}

export function teamsTelemetry(logger: Logger): TeamsTelemetry {
  const fired = perRequestChild(logger, { channel: 'teams.fired' });
  const action = perRequestChild(logger, { channel: 'teams.action' });
  return {
    fired(record) {
      // Nothing is built (no id hashed) for a channel that logs nothing.
      if (!fired.isLevelEnabled('info')) return;
      fired.info(
        {
          invocation_id: record.invocation_id,
          lifecycle: record.lifecycle,
          outcome: record.outcome,
          status: record.status,
          team_id_hash: idHash(record.team_id),
          session_id_hash: idHash(record.session_id),
          actor_hash: idHash(record.actor),
          error: record.error,
        },
        'teams.fired',
      );
    },
    actions(batch) {
      if (!action.isLevelEnabled('info')) return;
      for (const { envelope } of batch) {
        if (!aboutTeams(envelope.stream)) continue;
        action.info(actionRecord(envelope), 'teams.action');
      }
    },
  };
}

function actionRecord(envelope: Envelope): Record<string, unknown> {
  const data = envelope.data as Record<string, unknown>;
  const record: Record<string, unknown> = {
    invocation_id: envelope.meta.invocation_id,
    action: envelope.type,
    pos: envelope.pos,
    seq: envelope.seq,
    session_id_hash: idHash(envelope.meta.session_id),
    actor_hash: idHash(envelope.meta.actor),
  };
  const teamId = idIn('teams', envelope.stream);
  if (teamId !== undefined) record.team_id_hash = idHash(teamId);
  else if (typeof data.team_id === 'string') record.team_id_hash = idHash(data.team_id);
  for (const key of ['task_id', 'member_id', 'message_id'] as const) if (typeof data[key] === 'string') record[`${key}_hash`] = idHash(data[key] as string);
  for (const key of SAFE_FIELDS) if (data[key] !== undefined) record[key] = data[key];
  if (ENUM_REASONS.has(envelope.type)) record.reason = data.reason;
  return record;
}
