import type { DomainEvent, EventOf } from '../../events/index.js';
import { sessionAlive, type SessionView } from '../../projections/session.js';
import type { TeamView } from '../../projections/team.js';
import type { Entity } from './entity.js';

export type CleanupOutcome = EventOf<'cleanup_completed'>['data']['outcome'];

/** The store-wide streams: `system/cleanup` (audit of cleanups), `system/remote` (remote health). */
export const CLEANUP_STREAM_ID = 'cleanup';

export type CleanupCommand = { type: 'record_cleanup'; scope: 'all' | 'single'; team_ids: string[]; outcome?: CleanupOutcome; team_id?: string };

/** Every cleanup attempt is recorded, also one that removed nothing, found nothing or never reached the remote. */
export function decideCleanup(command: CleanupCommand): DomainEvent[] {
  const data = { removed: command.team_ids.length, scope: command.scope, team_ids: command.team_ids, outcome: command.outcome ?? 'completed', team_id: command.team_id };
  return [{ type: 'cleanup_completed', data }];
}

export const cleanupEntity: Entity<true, CleanupCommand> = {
  kind: 'system',
  evolve: () => true,
  decide: (command) => decideCleanup(command),
};

/**
 * The orphans: live (not removed) teams whose lead session no longer exists — it ended or its
 * lease lapsed. A team created without a lead session is never an orphan.
 */
export function orphanTeams(teams: Iterable<TeamView>, sessions: Map<string, SessionView>, now: Date): TeamView[] {
  return [...teams].filter((team) => team.status !== 'removed' && team.lead_session_id !== undefined && !sessionAlive(sessions.get(team.lead_session_id), now));
}

/** `system/operations`: the intent and the end of every operation that writes several streams. */
export const OPERATIONS_STREAM_ID = 'operations';

export type OperationStart = EventOf<'operation_started'>['data'];
export type OperationCommand = { type: 'start_operation'; operation: OperationStart } | { type: 'complete_operation'; operation_id: string };

export const operationsEntity: Entity<true, OperationCommand> = {
  kind: 'system',
  evolve: () => true,
  decide: (command) =>
    command.type === 'start_operation'
      ? [{ type: 'operation_started', data: command.operation }]
      : [{ type: 'operation_completed', data: { operation_id: command.operation_id } }],
};
