import type { DomainEvent, EventOf } from '../../events/index.js';
import { activeMembers, evolveDecisionTeam, taskIsBlocked, type MemberView, type TaskView, type TeamView } from '../../projections/team.js';
import { BmoError } from '../errors.js';
import type { Entity } from './entity.js';

export const DEFAULT_LEASE_MS = 5 * 60_000;

export type TeamCommand =
  | { type: 'create_team'; team_id: string; name: string; goal?: string; lead: { member_id: string; name: string; session_id?: string } }
  | { type: 'join_team'; member_id: string; name: string; role: 'lead' | 'member'; session_id?: string }
  | { type: 'leave_team'; member_id: string; reason?: string }
  | { type: 'create_task'; task_id: string; title: string; description?: string; blocked_by: string[] }
  | { type: 'claim_task'; task_id: string; member_id: string; session_id?: string; lease_ms: number }
  | { type: 'renew_claims'; session_id: string; lease_ms?: number }
  | { type: 'release_task'; task_id: string; member_id: string; fencing_token: number }
  | { type: 'update_task'; task_id: string; title?: string; description?: string; blocked_by?: string[]; note?: string }
  | { type: 'complete_task'; task_id: string; member_id: string; fencing_token: number; result?: string }
  | { type: 'fail_task'; task_id: string; member_id: string; fencing_token: number; error?: string }
  | { type: 'reclaim_lapsed' }
  | { type: 'send_message'; message_id: string; from: string; to: string; body: string }
  | { type: 'read_message'; message_id: string; member_id: string }
  | { type: 'shutdown_team'; reason?: string }
  | { type: 'remove_team'; reason: 'delete' | 'cleanup' };

type Events = DomainEvent[];
const event = <T extends DomainEvent['type']>(type: T, data: EventOf<T>['data']) => ({ type, data }) as EventOf<T>;

/**
 * The team decider: what a command on a team means, given the team as its log tells it. Pure: the
 * time comes in with the call and ids with the command; a refusal is a BmoError and writes nothing.
 */
export function decideTeam(command: TeamCommand, team: TeamView | undefined, now: Date, teamId: string): Events {
  if (command.type === 'create_team') return createTeam(command, team, teamId);
  if (!team) throw new BmoError('not_found', `no team ${teamId}`, { field: 'team_id' });
  if (team.status === 'removed') throw new BmoError('not_found', `team ${teamId} was removed (${team.removed_reason})`, { field: 'team_id' });
  if (command.type === 'remove_team') return [event('team_removed', { reason: command.reason })];
  if (command.type === 'reclaim_lapsed') return reclaimLapsed(team, now);
  if (command.type === 'read_message') return readMessage(team, command);
  if (team.status === 'shutdown') throw new BmoError('conflict', `team ${team.team_id} is shut down; it takes no more changes`);

  switch (command.type) {
    case 'shutdown_team':
      return [event('team_shutdown', { reason: command.reason })];
    case 'join_team':
    case 'leave_team':
      return decideMembership(team, command);
    case 'create_task':
    case 'update_task':
      return decideTaskChange(team, command);
    case 'claim_task':
    case 'renew_claims':
    case 'release_task':
    case 'complete_task':
    case 'fail_task':
      return decideClaim(team, command, now);
    case 'send_message':
      return sendMessage(team, command);
    default:
      return assertNever(command);
  }
}

/**
 * An active member joining again: from a new session (an agent restarted under the same member id)
 * it moves there, so that its liveness, a lead's and the team's cleanup follow the session that
 * runs; from the same session there is nothing to change.
 */
function rejoin(team: TeamView, member: MemberView, sessionId: string | undefined): Events {
  if (sessionId === undefined) {
    throw new BmoError('conflict', `${member.member_id} is already a member of ${team.team_id}; to act from a new session, join again naming that session_id`, { field: 'member_id' });
  }
  if (sessionId === member.session_id) return [];
  return [event('member_session_moved', { member_id: member.member_id, session_id: sessionId, previous_session_id: member.session_id })];
}

/** A new team, with its lead as its first member; an id once used (even by a removed team) is taken for good. */
function createTeam(command: Extract<TeamCommand, { type: 'create_team' }>, team: TeamView | undefined, teamId: string): Events {
  if (team?.status === 'removed') throw new BmoError('conflict', `team ${teamId} was removed and its log stays, so its id is taken for good; pick another id`, { field: 'team_id' });
  if (team) throw new BmoError('conflict', `team ${teamId} already exists`, { field: 'team_id' });
  return [
    event('team_created', {
      team_id: command.team_id,
      name: command.name,
      goal: command.goal,
      lead_member_id: command.lead.member_id,
      lead_session_id: command.lead.session_id,
    }),
    event('member_joined', { member_id: command.lead.member_id, name: command.lead.name, role: 'lead', session_id: command.lead.session_id }),
  ];
}

/** Members join and leave; the lead stays, and what a leaving member held goes back to the queue. */
function decideMembership(team: TeamView, command: Extract<TeamCommand, { type: 'join_team' | 'leave_team' }>): Events {
  switch (command.type) {
    case 'join_team': {
      const member = team.members.get(command.member_id);
      if (member?.active) return rejoin(team, member, command.session_id);
      if (command.role === 'lead') throw new BmoError('conflict', `team ${team.team_id} has its lead (${team.lead_member_id}) from its creation; join as a member`, { field: 'role' });
      return [event('member_joined', { member_id: command.member_id, name: command.name, role: command.role, session_id: command.session_id })];
    }
    case 'leave_team': {
      activeMember(team, command.member_id, 'member_id');
      if (command.member_id === team.lead_member_id) {
        throw new BmoError('conflict', `${command.member_id} leads team ${team.team_id} and cannot leave it; shut the team down (POST /v1/teams/${team.team_id}/shutdown) or remove it`, { field: 'member_id' });
      }
      const held = [...team.tasks.values()].filter((t) => t.status === 'claimed' && t.owner === command.member_id);
      return [
        ...held.map((t) => event('task_reclaimed', { task_id: t.task_id, member_id: command.member_id, fencing_token: t.fencing_token!, reason: 'member_left' })),
        event('member_left', { member_id: command.member_id, reason: command.reason }),
      ];
    }
    default:
      return assertNever(command);
  }
}

/** Tasks created and changed: blockers checked, done tasks closed to changes. */
function decideTaskChange(team: TeamView, command: Extract<TeamCommand, { type: 'create_task' | 'update_task' }>): Events {
  switch (command.type) {
    case 'create_task': {
      if (team.tasks.has(command.task_id)) throw new BmoError('conflict', `task ${command.task_id} already exists`, { field: 'task_id' });
      checkBlockers(team, command.task_id, command.blocked_by);
      return [event('task_created', { task_id: command.task_id, title: command.title, description: command.description, blocked_by: command.blocked_by })];
    }
    case 'update_task': {
      const task = taskOf(team, command.task_id);
      if (task.status === 'completed' || task.status === 'failed') throw new BmoError('conflict', `task ${task.task_id} is ${task.status}; it takes no more changes`);
      if (command.blocked_by !== undefined) {
        checkBlockers(team, task.task_id, command.blocked_by);
        const waiting = command.blocked_by.filter((id) => team.tasks.get(id)?.status !== 'completed');
        if (task.status === 'claimed' && waiting.length > 0) {
          throw new BmoError('conflict', `task ${task.task_id} is claimed by ${task.owner}; it cannot become blocked by ${waiting.join(', ')} until it is released`, { field: 'blocked_by' });
        }
      }
      const { type: _type, ...changes } = command;
      if (Object.entries(changes).filter(([key, value]) => key !== 'task_id' && value !== undefined).length === 0) throw new BmoError('invalid_body', 'give at least one of title, description, blocked_by, note', { field: '(body)' });
      return [event('task_updated', changes)];
    }
    default:
      return assertNever(command);
  }
}

/** Claims: taken (a lapsed one reclaimed first), renewed by heartbeats, released, completed or failed under their fencing token. */
function decideClaim(team: TeamView, command: Extract<TeamCommand, { type: 'claim_task' | 'renew_claims' | 'release_task' | 'complete_task' | 'fail_task' }>, now: Date): Events {
  switch (command.type) {
    case 'claim_task': {
      const task = taskOf(team, command.task_id);
      activeMember(team, command.member_id, 'member_id');
      const lapsed = task.status === 'claimed' && leaseLapsed(task, now);
      if (task.status === 'claimed' && !lapsed) {
        throw new BmoError('conflict', `task ${task.task_id} is already claimed by ${task.owner} until ${task.lease_expires_at}`, { field: 'task_id' });
      }
      if (task.status === 'completed' || task.status === 'failed') throw new BmoError('conflict', `task ${task.task_id} is already ${task.status}`, { field: 'task_id' });
      const waiting = taskIsBlocked(team, task);
      if (waiting.length > 0) throw new BmoError('conflict', `task ${task.task_id} is blocked by ${waiting.join(', ')}; claim it once they are completed`, { field: 'task_id' });
      const reclaim = lapsed ? [event('task_reclaimed', { task_id: task.task_id, member_id: task.owner!, fencing_token: task.fencing_token!, reason: 'lease_expired' })] : [];
      return [
        ...reclaim,
        event('task_claimed', {
          task_id: task.task_id,
          member_id: command.member_id,
          // A claim sent as {member_id} is held by the member's own session, so that session's heartbeats renew it.
          session_id: command.session_id ?? team.members.get(command.member_id)?.session_id,
          fencing_token: team.last_fencing_token + 1,
          lease_ms: command.lease_ms,
          lease_expires_at: new Date(now.getTime() + command.lease_ms).toISOString(),
        }),
      ];
    }
    case 'renew_claims': {
      return [...team.tasks.values()]
        .filter((t) => t.status === 'claimed' && t.owner_session_id === command.session_id && !leaseLapsed(t, now))
        .map((t) => {
          const leaseMs = command.lease_ms ?? t.lease_ms ?? DEFAULT_LEASE_MS;
          return event('task_claimed', {
            task_id: t.task_id,
            member_id: t.owner!,
            session_id: command.session_id,
            fencing_token: t.fencing_token!,
            lease_ms: leaseMs,
            lease_expires_at: new Date(now.getTime() + leaseMs).toISOString(),
            renewal: true,
          });
        });
    }
    case 'release_task': {
      const task = heldTask(team, command, now);
      return [event('task_released', { task_id: task.task_id, member_id: command.member_id, fencing_token: command.fencing_token })];
    }
    case 'complete_task':
    case 'fail_task': {
      const task = heldTask(team, command, now);
      return command.type === 'complete_task'
        ? [event('task_completed', { task_id: task.task_id, member_id: command.member_id, fencing_token: command.fencing_token, result: command.result })]
        : [event('task_failed', { task_id: task.task_id, member_id: command.member_id, fencing_token: command.fencing_token, error: command.error })];
    }
    default:
      return assertNever(command);
  }
}

/** A message to a member or to everyone ("*"), from an active member. */
function sendMessage(team: TeamView, command: Extract<TeamCommand, { type: 'send_message' }>): Events {
  if (team.messages.has(command.message_id)) throw new BmoError('conflict', `message ${command.message_id} already exists`, { field: 'message_id' });
  activeMember(team, command.from, 'from');
  if (command.to === command.from) throw new BmoError('bad_request', `${command.from} would be messaging themself; send to another member or to "*"`, { field: 'to' });
  if (command.to !== '*') activeMember(team, command.to, 'to');
  return [event('message_sent', { message_id: command.message_id, from: command.from, to: command.to, body: command.body })];
}

/** Every claim whose lease lapsed goes back to the queue: what the lease sweeper appends. */
function reclaimLapsed(team: TeamView, now: Date): Events {
  return [...team.tasks.values()]
    .filter((t) => t.status === 'claimed' && leaseLapsed(t, now))
    .map((t) => event('task_reclaimed', { task_id: t.task_id, member_id: t.owner!, fencing_token: t.fencing_token!, reason: 'lease_expired' }));
}

function readMessage(team: TeamView, command: { message_id: string; member_id: string }): Events {
  const message = team.messages.get(command.message_id);
  if (!message) throw new BmoError('not_found', `no message ${command.message_id} in team ${team.team_id}`, { field: 'message_id' });
  if (!team.members.has(command.member_id)) throw new BmoError('not_found', `${command.member_id} is not a member of ${team.team_id}`, { field: 'member_id' });
  if (message.from === command.member_id) {
    throw new BmoError('conflict', `${command.member_id} sent message ${command.message_id}; only those it is addressed to read it`, { field: 'member_id' });
  }
  if (message.to !== '*' && message.to !== command.member_id) {
    throw new BmoError('conflict', `message ${command.message_id} is not addressed to ${command.member_id}`, { field: 'member_id' });
  }
  if (message.read_by.includes(command.member_id)) return [];
  return [event('message_read', { message_id: command.message_id, member_id: command.member_id })];
}

export function leaseLapsed(task: TaskView, now: Date): boolean {
  return task.lease_expires_at !== undefined && Date.parse(task.lease_expires_at) <= now.getTime();
}

function taskOf(team: TeamView, taskId: string): TaskView {
  const task = team.tasks.get(taskId);
  if (!task) throw new BmoError('not_found', `no task ${taskId} in team ${team.team_id}`, { field: 'task_id' });
  return task;
}

function activeMember(team: TeamView, memberId: string, field: string): void {
  if (!team.members.get(memberId)?.active) {
    const known = activeMembers(team).map((m) => m.member_id);
    throw new BmoError('not_found', `${memberId} is not a member of team ${team.team_id} (members: ${known.join(', ') || 'none'})`, { field });
  }
}

/** The claim this caller holds, checked by its fencing token: a stale owner cannot act on a task it lost. */
function heldTask(team: TeamView, command: { task_id: string; member_id: string; fencing_token: number }, now: Date): TaskView {
  const task = taskOf(team, command.task_id);
  if (task.status === 'open') throw new BmoError('conflict', `task ${task.task_id} is open, not claimed (a claim that lapsed or was released is gone); claim it again`, { field: 'task_id' });
  if (task.status !== 'claimed') throw new BmoError('conflict', `task ${task.task_id} is already ${task.status}`, { field: 'task_id' });
  if (task.fencing_token === command.fencing_token && task.owner !== command.member_id) {
    throw new BmoError('conflict', `task ${task.task_id} is held by ${task.owner}, not ${command.member_id}`, { field: 'member_id' });
  }
  if (task.fencing_token !== command.fencing_token) {
    const why = command.fencing_token < task.fencing_token! ? 'is stale' : 'was never handed out';
    throw new BmoError('conflict', `fencing token ${command.fencing_token} of ${command.member_id} ${why}: task ${task.task_id} is held by ${task.owner} with token ${task.fencing_token}`, {
      field: 'fencing_token',
    });
  }
  if (leaseLapsed(task, now)) throw new BmoError('conflict', `the lease on task ${task.task_id} lapsed at ${task.lease_expires_at}; claim it again`, { field: 'fencing_token' });
  return task;
}

/** Blockers must be tasks of this team, never the task itself, and never form a cycle. */
function checkBlockers(team: TeamView, taskId: string, blockedBy: string[]): void {
  for (const id of blockedBy) {
    if (id === taskId) throw new BmoError('invalid_body', `blocked_by: task ${taskId} cannot block itself`, { field: 'blocked_by' });
    if (!team.tasks.has(id)) throw new BmoError('not_found', `blocked_by: no task ${id} in team ${team.team_id}`, { field: 'blocked_by' });
  }
  const seen = new Set<string>();
  const stack = [...blockedBy];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === taskId) throw new BmoError('conflict', `blocked_by: this would make a cycle through ${taskId}`, { field: 'blocked_by' });
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(team.tasks.get(id)?.blocked_by ?? []));
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

/** The team write model keeps what the decider reads, no texts (`decide`): a chatty team's model stays small. */
export const teamEntity: Entity<TeamView, TeamCommand> = { kind: 'teams', evolve: evolveDecisionTeam, decide: decideTeam };
