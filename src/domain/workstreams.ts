import type { DomainEvent, EventOf, GitContext, NaniteOutcome, PlanKind, WorkstreamStatus } from '../../events/index.js';
import { evolveWorkstream, preflightChecks, type WorkstreamView } from '../../projections/workstream.js';
import { BmoError } from '../errors.js';
import type { Entity } from './entity.js';

export type Boundary = EventOf<'boundary_declared'>['data']['boundary'];
export type Severity = EventOf<'finding_recorded'>['data']['severity'];

export type WorkstreamCommand =
  | { type: 'create_workstream'; label: string; goal?: string; git?: GitContext }
  | { type: 'bind_plan'; path: string; kind: PlanKind; git?: GitContext }
  | { type: 'set_recipe_step'; step: string; argv: string[] }
  | { type: 'declare_boundary'; boundary: Boundary; team_id?: string; note?: string }
  | ({ type: 'record_verify_run' } & EventOf<'verify_run_recorded'>['data'])
  | ({ type: 'start_nanite' } & EventOf<'nanite_started'>['data'])
  | { type: 'complete_nanite'; nanite_id: string; outcome: NaniteOutcome; handoff: string; exit_code: number | null; duration_ms: number; truncated: boolean }
  | { type: 'record_finding'; finding_id: string; severity: Severity; path?: string; text: string }
  | { type: 'attach_artifact'; artifact_id: string; ref: string; kind: string; digest?: string }
  | { type: 'add_marker'; marker_id: string; path: string; note: string }
  | { type: 'clear_marker'; marker_id: string; reason?: string }
  | { type: 'change_status'; status: WorkstreamStatus; reason?: string; force?: boolean };

const event = <T extends DomainEvent['type']>(type: T, data: EventOf<T>['data']) => ({ type, data }) as EventOf<T>;

/**
 * The workstream decider: what a command on a workstream means, given the workstream as its log
 * tells it. Pure: ids come in with the command; a refusal is a BmoError and writes nothing.
 * Evidence (verify runs, findings, artifacts, markers, nanites) is accepted whatever the status,
 * so that a late result is never lost; the status says what the work came to.
 */
export function decideWorkstream(command: WorkstreamCommand, ws: WorkstreamView | undefined, _now: Date, id: string): DomainEvent[] {
  if (command.type === 'create_workstream') {
    if (ws) throw new BmoError('conflict', `workstream ${id} already exists ("${ws.label}")`, { field: 'id' });
    return [event('workstream_created', { workstream_id: id, label: command.label, goal: command.goal, git: command.git })];
  }
  if (!ws) throw new BmoError('not_found', `no workstream ${id}; bmo workstream list (GET /v1/workstreams) lists them`, { field: 'id' });

  switch (command.type) {
    case 'bind_plan':
      if (ws.plan?.path === command.path && ws.plan.kind === command.kind) {
        throw new BmoError('conflict', `workstream ${id} is already bound to ${command.kind} plan ${command.path}`, { field: 'path' });
      }
      return [event('plan_bound', { path: command.path, kind: command.kind, git: command.git })];
    case 'set_recipe_step': {
      const known = ws.recipe.get(command.step);
      if (known && known.length === command.argv.length && known.every((word, i) => word === command.argv[i])) {
        throw new BmoError('conflict', `recipe step ${command.step} already runs that command`, { field: 'step' });
      }
      return [event('recipe_step_set', { step: command.step, argv: command.argv })];
    }
    case 'declare_boundary':
      if ((command.boundary === 'team') !== (command.team_id !== undefined)) {
        throw new BmoError('invalid_body', 'team_id: give it with boundary "team", and only then', { field: 'team_id' });
      }
      return [event('boundary_declared', { boundary: command.boundary, team_id: command.team_id, note: command.note })];
    case 'record_verify_run': {
      if (ws.verify_runs.some((r) => r.run_id === command.run_id)) throw new BmoError('conflict', `verify run ${command.run_id} is already recorded`, { field: 'run_id' });
      const { type: _type, ...data } = command;
      return [event('verify_run_recorded', data)];
    }
    case 'start_nanite': {
      if (ws.nanites.has(command.nanite_id)) throw new BmoError('conflict', `nanite ${command.nanite_id} already started`, { field: 'nanite_id' });
      const { type: _type, ...data } = command;
      return [event('nanite_started', data)];
    }
    case 'complete_nanite': {
      const nanite = ws.nanites.get(command.nanite_id);
      if (!nanite) throw new BmoError('not_found', `no nanite ${command.nanite_id} on workstream ${id}`, { field: 'nanite_id' });
      if (nanite.state !== 'running') throw new BmoError('conflict', `nanite ${command.nanite_id} already ended (${nanite.state}) at ${nanite.completed_at}`, { field: 'nanite_id' });
      return [
        event('nanite_completed', {
          nanite_id: command.nanite_id,
          session_id: nanite.session_id,
          outcome: command.outcome,
          handoff: command.handoff,
          exit_code: command.exit_code,
          duration_ms: command.duration_ms,
          truncated: command.truncated,
        }),
      ];
    }
    case 'record_finding':
      if (ws.findings.has(command.finding_id)) throw new BmoError('conflict', `finding ${command.finding_id} is already recorded`, { field: 'finding_id' });
      return [event('finding_recorded', { finding_id: command.finding_id, severity: command.severity, path: command.path, text: command.text })];
    case 'attach_artifact':
      if (ws.artifacts.has(command.artifact_id)) throw new BmoError('conflict', `artifact ${command.artifact_id} is already attached`, { field: 'artifact_id' });
      return [event('artifact_attached', { artifact_id: command.artifact_id, ref: command.ref, kind: command.kind, digest: command.digest })];
    case 'add_marker':
      if (ws.markers.has(command.marker_id)) throw new BmoError('conflict', `marker ${command.marker_id} already exists`, { field: 'marker_id' });
      return [event('marker_added', { marker_id: command.marker_id, path: command.path, note: command.note })];
    case 'clear_marker': {
      const marker = ws.markers.get(command.marker_id);
      if (!marker) throw new BmoError('not_found', `no marker ${command.marker_id} on workstream ${id}`, { field: 'marker_id' });
      if (marker.cleared_at) throw new BmoError('conflict', `marker ${command.marker_id} was already cleared at ${marker.cleared_at}`, { field: 'marker_id' });
      return [event('marker_cleared', { marker_id: command.marker_id, reason: command.reason })];
    }
    case 'change_status':
      return decideStatus(command, ws, id);
    default: {
      const unknown: never = command;
      throw new BmoError('bad_request', `unknown workstream command ${(unknown as { type: string }).type}`);
    }
  }
}

/**
 * Evidence gates done: `completed` over a preflight that is not ready is refused with the open
 * checks, unless forced with a reason, and then the event records which checks it went over.
 */
function decideStatus(command: Extract<WorkstreamCommand, { type: 'change_status' }>, ws: WorkstreamView, id: string): DomainEvent[] {
  if (ws.status === command.status && ws.status_reason === command.reason) {
    throw new BmoError('conflict', `workstream ${id} is already ${command.status}`, { field: 'status' });
  }
  if (command.force && !command.reason?.trim()) throw new BmoError('invalid_body', 'reason: a forced status change needs a reason (--reason "…"), recorded with it', { field: 'reason' });
  const open = command.status === 'completed' ? preflightChecks(ws).filter((c) => !c.ok) : [];
  if (open.length > 0 && !command.force) {
    const todo = open.map((c) => `${c.check}: ${c.detail}`).join('; ');
    throw new BmoError('conflict', `workstream ${id} is not ready to be completed (${todo}); finish these, or force it with --force --reason "…"`, {
      field: 'status',
      details: { todo: open },
    });
  }
  return [event('status_changed', { status: command.status, reason: command.reason, forced_over: open.length > 0 ? open.map((c) => c.check) : undefined })];
}

export const workstreamEntity: Entity<WorkstreamView, WorkstreamCommand> = { kind: 'workstreams', evolve: evolveWorkstream, decide: decideWorkstream };
