import { randomUUID } from 'node:crypto';
import type { Envelope } from '../../events/index.js';
import type { TeamsTelemetry } from '../telemetry/teams.js';
import { leaseLapsed, teamEntity } from '../domain/teams.js';
import { CLEANUP_STREAM_ID, cleanupEntity, orphanTeams } from '../domain/system.js';
import { sessionEntity } from '../domain/sessions.js';
import { BmoError } from '../errors.js';
import type { CommandContext, Pipeline } from './pipeline.js';

/**
 * Orphan cleanup: every team whose lead session no longer exists gets `team_removed` (reason
 * cleanup), then exactly one `cleanup_completed` records the attempt, also when nothing was removed.
 */
export async function cleanupTeams(
  pipeline: Pipeline,
  target: { scope: 'all' } | { scope: 'single'; team_id: string },
  context: CommandContext = {},
): Promise<{ removed: string[]; event: Envelope }> {
  const { teams, sessions } = pipeline.readModels;
  let candidates = [...teams.values()];
  if (target.scope === 'single') {
    const team = teams.get(target.team_id);
    if (!team || team.status === 'removed') throw new BmoError('not_found', `no team ${target.team_id} to clean up`, { field: 'team_id' });
    candidates = [team];
  }
  const { idempotencyKey, requestHash, ...plain } = context;
  const recorded = idempotencyKey ? pipeline.readModels.idempotency.get(idempotencyKey) : undefined;
  const removed: string[] = [];
  if (!recorded) {
    for (const team of orphanTeams(candidates, sessions, pipeline.now())) {
      try {
        await pipeline.execute(teamEntity, team.team_id, { type: 'remove_team', reason: 'cleanup' }, plain);
        removed.push(team.team_id);
      } catch (error) {
        if (!(error instanceof BmoError && error.code === 'not_found')) throw error;
      }
    }
  }
  const [event] = await pipeline.execute(cleanupEntity, CLEANUP_STREAM_ID, { type: 'record_cleanup', scope: target.scope, team_ids: removed }, context);
  const data = event.data as { team_ids: string[] };
  return { removed: data.team_ids, event };
}

/** A heartbeat keeps the session alive and renews the lease of every task it holds. */
export async function heartbeat(pipeline: Pipeline, sessionId: string, leaseMs: number | undefined, context: CommandContext = {}) {
  const events = await pipeline.execute(sessionEntity, sessionId, { type: 'heartbeat', lease_ms: leaseMs }, context);
  const { idempotencyKey: _key, requestHash: _hash, ...plain } = context;
  const renewed: Envelope[] = [];
  for (const team of pipeline.readModels.teams.values()) {
    if (team.status === 'removed') continue;
    if (![...team.tasks.values()].some((t) => t.status === 'claimed' && t.owner_session_id === sessionId)) continue;
    try {
      renewed.push(...(await pipeline.execute(teamEntity, team.team_id, { type: 'renew_claims', session_id: sessionId, lease_ms: leaseMs }, plain)));
    } catch (error) {
      if (!(error instanceof BmoError && error.status < 500)) throw error;
    }
  }
  return { events, renewed };
}

/** Returns every lapsed claim to the queue (`task_reclaimed`); run by the lease sweeper. */
export async function reclaimLapsedClaims(pipeline: Pipeline, invocationId = `sweep-${Date.now()}`): Promise<number> {
  const now = pipeline.now();
  let reclaimed = 0;
  for (const team of pipeline.readModels.teams.values()) {
    if (team.status === 'removed') continue;
    if (![...team.tasks.values()].some((t) => t.status === 'claimed' && leaseLapsed(t, now))) continue;
    try {
      reclaimed += (await pipeline.execute(teamEntity, team.team_id, { type: 'reclaim_lapsed' }, { invocationId })).length;
    } catch (error) {
      if (!(error instanceof BmoError && error.status < 500)) throw error;
    }
  }
  return reclaimed;
}

/** Runs the lease sweeper every `intervalMs` until the returned stop is called. */
export function startLeaseSweeper(pipeline: Pipeline, intervalMs: number, telemetry: TeamsTelemetry, onError: (error: unknown) => void): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const invocationId = randomUUID();
    reclaimLapsedClaims(pipeline, invocationId)
      .then((n) => n > 0 && telemetry.fired({ invocation_id: invocationId, lifecycle: 'lease_sweep', outcome: 'ok' }))
      .catch(onError)
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
