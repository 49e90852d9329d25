import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Envelope } from '../../events/index.js';
import type { TeamView } from '../../projections/team.js';
import type { TeamsTelemetry } from '../telemetry/teams.js';
import { leaseLapsed, teamEntity } from '../domain/teams.js';
import type { OperationView } from '../../projections/operations.js';
import { CLEANUP_STREAM_ID, OPERATIONS_STREAM_ID, cleanupEntity, operationsEntity, orphanTeams, type OperationStart } from '../domain/system.js';
import { sessionEntity } from '../domain/sessions.js';
import { workstreamEntity } from '../domain/workstreams.js';
import { holderRuns } from '../store/lock.js';
import { BmoError } from '../errors.js';
import type { CommandContext, Pipeline } from './pipeline.js';

/**
 * Orphan cleanup: every team whose lead session no longer exists gets `team_removed` (reason
 * cleanup), then exactly one `cleanup_completed` records the attempt, also when nothing was removed.
 */
export function cleanupTeams(
  pipeline: Pipeline,
  target: { scope: 'all' } | { scope: 'single'; team_id: string },
  context: CommandContext = {},
): Promise<{ removed: string[]; event: Envelope }> {
  // A retry with the key waits for the first to finish, then answers what it recorded.
  const key = context.idempotencyKey;
  return key === undefined ? cleanUp(pipeline, target, context) : pipeline.oneAtATime(key, () => cleanUp(pipeline, target, context));
}

async function cleanUp(
  pipeline: Pipeline,
  target: { scope: 'all' } | { scope: 'single'; team_id: string },
  context: CommandContext,
): Promise<{ removed: string[]; event: Envelope }> {
  if (context.expectedVersion !== undefined) {
    // Refused before anything is written: no one stream's version stands for every team a cleanup may remove.
    throw new BmoError('bad_request', 'If-Match: a cleanup changes many teams, so no one version applies; send it without If-Match', { field: 'If-Match' });
  }
  const { teams, sessions } = pipeline.readModels;
  const { idempotencyKey, requestHash, ...plain } = context;
  const recorded = idempotencyKey ? pipeline.readModels.idempotency.get(idempotencyKey) : undefined;
  let candidates = [...teams.values()];
  const teamId = target.scope === 'single' ? target.team_id : undefined;
  if (teamId !== undefined) {
    const team = teams.get(teamId);
    // A retry of a cleanup that removed this team answers as the first did.
    if ((!team || team.status === 'removed') && !recorded) {
      // The attempt is audited too (outcome not_found), then refused as before.
      await pipeline.execute(cleanupEntity, CLEANUP_STREAM_ID, { type: 'record_cleanup', scope: 'single', team_ids: [], outcome: 'not_found', team_id: teamId }, context);
      throw notFound(teamId, team?.status === 'removed');
    }
    candidates = team ? [team] : [];
  }
  let event: Envelope;
  if (recorded) {
    // Answered from the log: the key names the cleanup_completed of the first request.
    [event] = await pipeline.execute(cleanupEntity, CLEANUP_STREAM_ID, { type: 'record_cleanup', scope: target.scope, team_ids: [], team_id: teamId }, context);
  } else {
    // The intent first: a crash part way is finished on startup or by the retry, never decided afresh.
    const open = idempotencyKey === undefined ? undefined : await openOperation(pipeline, 'cleanup', idempotencyKey);
    const targets = orphanTeams(candidates, sessions, pipeline.now()).map((team) => `teams/${team.team_id}`);
    const operation = open ?? (await startOperation(pipeline, { kind: 'cleanup', targets, key: idempotencyKey, request_hash: requestHash, scope: target.scope, team_id: teamId }, plain));
    event = await finishCleanup(pipeline, operation, plain);
  }
  const data = event.data as { team_ids: string[]; outcome?: string };
  // A retry of an attempt that found no team is refused as the first was.
  if (data.outcome === 'not_found') throw notFound(teamId ?? '', false);
  return { removed: data.team_ids, event };
}

function notFound(teamId: string, removed: boolean): BmoError {
  const why = removed ? `team ${teamId} was removed already` : `no team ${teamId}`;
  return new BmoError('not_found', `${why}, so there is nothing to clean up; the attempt is recorded (outcome not_found). bmo team list shows the teams`, { field: 'team_id' });
}

/** A cleanup the remote teams server never answered: recorded here with removed=0 and outcome remote_failed. */
export async function recordFailedCleanup(pipeline: Pipeline, target: { scope: 'all' } | { scope: 'single'; team_id: string }, context: CommandContext = {}): Promise<Envelope> {
  const { idempotencyKey, requestHash, expectedVersion, ...plain } = context;
  const teamId = target.scope === 'single' ? target.team_id : undefined;
  const [event] = await pipeline.execute(cleanupEntity, CLEANUP_STREAM_ID, { type: 'record_cleanup', scope: target.scope, team_ids: [], outcome: 'remote_failed', team_id: teamId }, plain);
  return event;
}

/**
 * A heartbeat keeps the session alive and renews the lease of every task it holds. The heartbeat
 * names the teams it renews in (`renews`) before any is renewed, and with an Idempotency-Key each
 * team's renewal carries a key made from it (see renewalKeys). So a retry with the key, after a
 * crash part way or not, renews what is left of the teams the first one named, reads back the
 * rest, and decides nothing afresh; a heartbeat without a key renews again what its retry asks.
 * No operation is recorded for it: its intent lives in the session's own log, which a heartbeat
 * writes anyway, so system/operations does not grow with every heartbeat.
 */
export function heartbeat(pipeline: Pipeline, sessionId: string, leaseMs: number | undefined, context: CommandContext = {}) {
  const key = context.idempotencyKey;
  return key === undefined ? beat(pipeline, sessionId, leaseMs, context) : pipeline.oneAtATime(key, () => beat(pipeline, sessionId, leaseMs, context));
}

async function beat(pipeline: Pipeline, sessionId: string, leaseMs: number | undefined, context: CommandContext) {
  const { idempotencyKey } = context;
  const { idempotency, teams } = pipeline.readModels;
  // Asked before the heartbeat is appended: afterwards its key is always known.
  const retry = idempotencyKey !== undefined && idempotency.has(idempotencyKey);
  const holding = retry ? [] : [...teams.mayHoldClaims()].filter((team) => holdsClaim(team, sessionId)).map((team) => team.team_id);
  // On a retry the pipeline answers the first heartbeat from the log: its lease and the teams it named.
  const events = await pipeline.execute(sessionEntity, sessionId, { type: 'heartbeat', lease_ms: leaseMs, renews: holding }, context);
  const first = events[0].data as { lease_ms?: number; renews?: string[] };
  // A keyed heartbeat written before it named its teams: read back the renewals it made.
  const named = first.renews ?? (retry ? [...teams.keys()].filter((teamId) => idempotency.has(renewalKeys(idempotencyKey!)(teamId))) : []);
  const renewed = await renewIn(pipeline, sessionId, named, first.lease_ms, context);
  return { events, renewed };
}

/**
 * The renewal of the session's claims in each team, with a key made from the request's when it had
 * one (a renewal already made under it is read back, not made again); in the order appended.
 */
async function renewIn(pipeline: Pipeline, sessionId: string, teamIds: string[], leaseMs: number | undefined, context: CommandContext): Promise<Envelope[]> {
  const { idempotencyKey, requestHash, expectedVersion, ...plain } = context;
  const keyFor = idempotencyKey === undefined ? undefined : renewalKeys(idempotencyKey);
  const renewed: Envelope[] = [];
  for (const teamId of teamIds) {
    const teamKey = keyFor?.(teamId);
    try {
      const command = { type: 'renew_claims', session_id: sessionId, lease_ms: leaseMs } as const;
      renewed.push(...(await pipeline.execute(teamEntity, teamId, command, teamKey ? { ...plain, idempotencyKey: teamKey, requestHash } : plain)));
    } catch (error) {
      // The claims went meanwhile (released, reclaimed, the team removed): nothing to renew there.
      if (!(error instanceof BmoError && error.status < 500)) throw error;
    }
  }
  // In the order they were appended, whatever order the teams were replayed in after a restart.
  return renewed.sort((a, b) => a.pos - b.pos);
}

/**
 * The Idempotency-Key of one team's renewals under a heartbeat's key: a key names one stream's
 * events (projections/idempotency.ts), and the heartbeat's own names the session's. Hashed to fit
 * the 200 characters of meta.idempotency_key.
 */
function renewalKeys(heartbeatKey: string): (teamId: string) => string {
  const digest = createHash('sha256').update(heartbeatKey).digest('hex');
  return (teamId) => `renew-claims:${digest}:${teamId}`;
}

/** Returns every lapsed claim to the queue (`task_reclaimed`); run by the lease sweeper. */
export async function reclaimLapsedClaims(pipeline: Pipeline, invocationId = `sweep-${Date.now()}`): Promise<number> {
  const now = pipeline.now();
  const targets: string[] = [];
  for (const team of pipeline.readModels.teams.mayHoldClaims()) {
    if (team.status === 'removed') continue;
    if ([...team.tasks.values()].some((t) => t.status === 'claimed' && leaseLapsed(t, now))) targets.push(`teams/${team.team_id}`);
  }
  if (targets.length === 0) return 0;
  if (targets.length === 1) return reclaimIn(pipeline, targets, { invocationId });
  const operation = await startOperation(pipeline, { kind: 'lease_sweep', targets }, { invocationId });
  const reclaimed = await reclaimIn(pipeline, targets, { invocationId, operationId: operation.operation_id });
  await completeOperation(pipeline, operation, { invocationId });
  return reclaimed;
}

async function reclaimIn(pipeline: Pipeline, targets: string[], context: CommandContext): Promise<number> {
  let reclaimed = 0;
  for (const target of targets) {
    try {
      reclaimed += (await pipeline.execute(teamEntity, target.slice('teams/'.length), { type: 'reclaim_lapsed' }, context)).length;
    } catch (error) {
      if (!(error instanceof BmoError && error.status < 500)) throw error;
    }
  }
  return reclaimed;
}

const holdsClaim = (team: TeamView, sessionId: string) => team.status !== 'removed' && [...team.tasks.values()].some((t) => t.status === 'claimed' && t.owner_session_id === sessionId);

/**
 * The operation of `kind` that a request with `key` started and did not complete, for its retry to
 * finish; refused while another instance that runs it is still running (it finishes it itself).
 */
async function openOperation(pipeline: Pipeline, kind: OperationView['kind'], key: string): Promise<OperationView | undefined> {
  for (const operation of pipeline.readModels.operations.values()) {
    if (operation.kind !== kind || operation.key !== key) continue;
    const owner = operation.instance;
    if (owner !== undefined && owner !== pipeline.store.instanceId && !(await pipeline.store.instanceGone(owner))) {
      throw new BmoError('conflict', `the ${kind} with this Idempotency-Key is still running on another bmo instance; retry with the same key once it is done`, { field: 'Idempotency-Key' });
    }
    return operation;
  }
  return undefined;
}

/** Whether an open operation is to be finished here: its owner is gone (or unknown, from before owners were recorded). */
async function orphaned(pipeline: Pipeline, operation: OperationView): Promise<boolean> {
  return operation.instance === undefined || (await pipeline.store.instanceGone(operation.instance));
}

async function startOperation(pipeline: Pipeline, start: Omit<OperationStart, 'operation_id'>, context: CommandContext): Promise<OperationView> {
  const owned = { operation_id: randomUUID(), ...start, instance: pipeline.store.instanceId };
  const operation = Object.fromEntries(Object.entries(owned).filter(([, v]) => v !== undefined)) as OperationStart;
  const [event] = await pipeline.execute(operationsEntity, OPERATIONS_STREAM_ID, { type: 'start_operation', operation }, context);
  return { ...operation, started_pos: event.pos };
}

function completeOperation(pipeline: Pipeline, operation: OperationView, context: CommandContext): Promise<Envelope[]> {
  return pipeline.execute(operationsEntity, OPERATIONS_STREAM_ID, { type: 'complete_operation', operation_id: operation.operation_id }, context);
}

/**
 * Removes each target team not removed yet and records one cleanup_completed naming every target
 * that is removed: the same answer whether it runs once or is finished after a crash. The audit
 * carries the request's key, or one made from the operation, so a second finish appends nothing.
 */
async function finishCleanup(pipeline: Pipeline, operation: OperationView, plain: CommandContext): Promise<Envelope> {
  const context = { ...plain, operationId: operation.operation_id };
  const removed: string[] = [];
  for (const target of operation.targets) {
    const teamId = target.slice('teams/'.length);
    const team = pipeline.readModels.teams.get(teamId);
    if (!team) continue;
    if (team.status !== 'removed') {
      try {
        await pipeline.execute(teamEntity, teamId, { type: 'remove_team', reason: 'cleanup' }, context);
      } catch (error) {
        if (!(error instanceof BmoError && error.code === 'not_found')) throw error;
      }
    }
    if (pipeline.readModels.teams.get(teamId)?.status === 'removed') removed.push(teamId);
  }
  const key = operation.key ?? `operation:${operation.operation_id}`;
  const audit = { ...context, idempotencyKey: key, requestHash: operation.request_hash ?? '' };
  const [event] = await pipeline.execute(cleanupEntity, CLEANUP_STREAM_ID, { type: 'record_cleanup', scope: operation.scope ?? 'all', team_ids: removed, team_id: operation.team_id }, audit);
  await completeOperation(pipeline, operation, plain);
  return event;
}

/**
 * A heartbeat operation a crash left open (heartbeats recorded one before they named their teams
 * in the heartbeat itself): the session's heartbeat and the renewal in every target team, with the
 * keys made from the request's, so what was done is not repeated.
 */
async function finishHeartbeat(pipeline: Pipeline, operation: OperationView, context: CommandContext) {
  const sessionId = operation.session_id!;
  const withOperation = { ...context, operationId: operation.operation_id };
  const keyed = operation.key ? { ...withOperation, idempotencyKey: operation.key, requestHash: operation.request_hash } : withOperation;
  try {
    await pipeline.execute(sessionEntity, sessionId, { type: 'heartbeat', lease_ms: operation.lease_ms }, keyed);
    await renewIn(pipeline, sessionId, operation.targets.slice(1).map((target) => target.slice('teams/'.length)), operation.lease_ms, keyed);
  } catch (error) {
    // The session is gone (ended or lapsed): its claims are not renewed, and the operation is over.
    if (!(error instanceof BmoError && error.status < 500)) throw error;
  }
  await completeOperation(pipeline, operation, context);
}

/**
 * On startup, and on each sweep: every operation left part way by an instance that is gone (a
 * crash) is finished, oldest first. One whose instance still runs is left to it: that instance
 * finishes it itself.
 */
export async function finishOperations(pipeline: Pipeline): Promise<number> {
  const open: OperationView[] = [];
  for (const operation of pipeline.readModels.operations.values()) if (await orphaned(pipeline, operation)) open.push(operation);
  open.sort((a, b) => a.started_pos - b.started_pos);
  for (const operation of open) {
    const context: CommandContext = { invocationId: `finish-${operation.operation_id}`.slice(0, 64) };
    if (operation.kind === 'cleanup') await finishCleanup(pipeline, operation, context);
    else if (operation.kind === 'heartbeat') await finishHeartbeat(pipeline, operation, context);
    else {
      await reclaimIn(pipeline, operation.targets, { ...context, operationId: operation.operation_id });
      await completeOperation(pipeline, operation, context);
    }
  }
  return open.length;
}


/**
 * Closes as `partial` every running nanite whose lane ran on this host in a process that is gone
 * (its pid no longer runs, or runs another program): a lane never stays `running` after its
 * process died without reporting.
 */
export async function closeLostNanites(pipeline: Pipeline, invocationId = `sweep-${Date.now()}`): Promise<number> {
  const here = hostname();
  const now = pipeline.now();
  let closed = 0;
  for (const ws of pipeline.readModels.workstreams.values()) {
    for (const nanite of ws.nanites.values()) {
      const runner = nanite.runner;
      if (nanite.state !== 'running' || !runner || runner.host !== here || holderRuns(runner)) continue;
      const handoff = `lost: the process that ran this lane (pid ${runner.pid} on ${runner.host}) is gone and never reported an outcome; closed by the sweep`;
      const command = { type: 'complete_nanite' as const, nanite_id: nanite.nanite_id, outcome: 'partial' as const, handoff, exit_code: null, duration_ms: Math.max(0, now.getTime() - Date.parse(nanite.started_at)), truncated: false };
      try {
        closed += (await pipeline.execute(workstreamEntity, ws.workstream_id, command, { invocationId })).length;
      } catch (error) {
        // Reported by its own lane meanwhile: nothing to close.
        if (!(error instanceof BmoError && error.status < 500)) throw error;
      }
    }
  }
  return closed;
}

/** Runs the lease sweeper (and the lost-lane sweep) every `intervalMs` until the returned stop is called. */
export function startLeaseSweeper(pipeline: Pipeline, intervalMs: number, telemetry: TeamsTelemetry, onError: (error: unknown) => void): () => void {
  let running = false;
  const timer = pipeline.clock.every(
    intervalMs,
    () => {
      if (running) return;
      running = true;
      const invocationId = randomUUID();
      // An instance sharing the store may have died part way through an operation since the last sweep.
      (pipeline.readModels.operations.size > 0 ? finishOperations(pipeline) : Promise.resolve(0))
        .then(() => reclaimLapsedClaims(pipeline, invocationId))
        .then((n) => n > 0 && telemetry.fired({ invocation_id: invocationId, lifecycle: 'lease_sweep', outcome: 'ok' }))
        .then(() => closeLostNanites(pipeline, invocationId))
        .catch(onError)
        .finally(() => (running = false));
    },
    { unref: true },
  );
  return () => timer.cancel();
}
