import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { evolveTeam, inboxOf, presentTask, presentTeam, taskIsReady, teamsInOrder, teamSummary, type MessageView, type TaskView, type TeamView } from '../../projections/team.js';
import { presentTimeline, teamTimelineProjection, timelineEntries } from '../../projections/timeline.js';
import { leadLiveness, memberLiveness } from '../../projections/posture.js';
import { teamEntity, type TeamCommand } from '../domain/teams.js';
import { BmoError } from '../errors.js';
import { describeAsOf, foldStreamAsOf, type AsOf } from '../pipeline/as-of.js';
import { cleanupTeams } from '../pipeline/operations.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { createdTeamIds } from '../telemetry/teams.js';
import { principalOf, teamAllowed } from './access.js';
import { logRoute } from './events.js';
import { AsOfOnly, asOfOf, commandContext, createdId, idParam, newId, NoQuery, parseWith, sendCommandResult } from './request.js';
import { page, pageInOrder } from './paging.js';
import { ClaimTask, Cleanup, CompleteTask, CreateTask, CreateTeam, FailTask, HeldTask, Inbox, JoinTeam, LeaveTeam, ListTasks, ListTeams, ReadMessage, SendMessage, Shutdown, TimelineQuery, UpdateTask } from './schemas.js';

export function cleanupTarget(body: z.output<typeof Cleanup>): { scope: 'all' } | { scope: 'single'; team_id: string } {
  return body.scope === 'single' ? { scope: 'single', team_id: body.team_id! } : { scope: 'all' };
}

export interface TeamRoutesOptions {
  pipeline: Pipeline;
}

/** What every team route group reads and runs through. */
interface TeamRouteContext {
  pipeline: Pipeline;
  teams: () => Map<string, TeamView>;
  run: (request: FastifyRequest, teamId: string, command: TeamCommand) => ReturnType<Pipeline['execute']>;
  knownSession: (sessionId: string | undefined, field: string) => void;
  teamOf: (request: FastifyRequest) => Promise<TeamView>;
  notIn: (request: FastifyRequest, team: TeamView, field: 'member' | 'task', id: string) => BmoError;
}

/** The teams data plane: teams, members, tasks and messages, each change one command; one plugin per group. */
export async function teamRoutes(app: FastifyInstance, { pipeline }: TeamRoutesOptions): Promise<void> {
  const ctx = teamRouteContext(pipeline);
  await app.register(teamLifecycleRoutes, ctx);
  await app.register(memberRoutes, ctx);
  await app.register(taskRoutes, ctx);
  await app.register(messageRoutes, ctx);
}

function teamRouteContext(pipeline: Pipeline): TeamRouteContext {
  const teams = () => pipeline.readModels.teams;
  const run = (request: FastifyRequest, teamId: string, command: TeamCommand) => pipeline.execute(teamEntity, teamId, command, commandContext(request));

  /**
   * A session a body names, for a team, member or claim to follow: one bmo has seen and that has
   * not ended. A mistyped or ended lead session would make the team an orphan at once, and the next
   * cleanup would remove it.
   */
  const knownSession = (sessionId: string | undefined, field: string) => {
    if (sessionId === undefined) return;
    const session = pipeline.readModels.sessions.get(sessionId);
    if (!session) throw new BmoError('not_found', `${field}: no session ${sessionId}; start it first (POST /v1/sessions) or leave ${field} out`, { field });
    if (session.ended_at) throw new BmoError('conflict', `${field}: session ${sessionId} ended at ${session.ended_at}; start a new one (POST /v1/sessions) and name it`, { field });
  };

  /** A team to read, in detail: committed state only, a removed team is gone; with `as_of`, as it was then. */
  const teamOf = async (request: FastifyRequest): Promise<TeamView> => {
    const id = idParam(request, 'id');
    const asOf = asOfOf(request, pipeline);
    if (asOf) return teamAsOf(id, asOf);
    const team = teams().get(id);
    if (!team) throw new BmoError('not_found', `no team ${id}; GET /v1/teams lists them`, { field: 'id' });
    if (team.status === 'removed') throw new BmoError('not_found', `team ${id} was removed (${team.removed_reason}); its log stays readable at /v1/teams/${id}/events`, { field: 'id' });
    return (await pipeline.teamDetails.get(`teams/${id}`))!;
  };

  /** The team's log folded up to the point, by the same evolve as the live detail. */
  const teamAsOf = async (id: string, asOf: AsOf): Promise<TeamView> => {
    const { state } = await foldStreamAsOf<TeamView>(pipeline.store, `teams/${id}`, (team, event) => evolveTeam(team, event), asOf);
    if (pipeline.store.version(`teams/${id}`) === 0) throw new BmoError('not_found', `no team ${id}; GET /v1/teams?all=true lists them`, { field: 'id' });
    if (!state) throw new BmoError('not_found', `team ${id} did not exist yet at ${describeAsOf(asOf)}; ask for a later point (its log: /v1/teams/${id}/events)`, { field: 'query.as_of' });
    if (state.status === 'removed') throw new BmoError('not_found', `team ${id} was already removed (${state.removed_reason}) at ${describeAsOf(asOf)}; ask for an earlier point`, { field: 'query.as_of' });
    return state;
  };

  /** Not found in a team read: not there yet at the asked point (it is now), or not in the team at all. */
  const notIn = (request: FastifyRequest, team: TeamView, field: 'member' | 'task', id: string): BmoError => {
    const asOf = asOfOf(request, pipeline);
    const live = teams().get(team.team_id);
    if (asOf && (field === 'member' ? live?.members.has(id) : live?.tasks.has(id))) {
      return new BmoError('not_found', `${field} ${id} was not in team ${team.team_id} yet at ${describeAsOf(asOf)}; ask for a later point`, { field: 'query.as_of' });
    }
    if (field === 'task') return new BmoError('not_found', `no task ${id} in team ${team.team_id}`, { field: 'task' });
    return new BmoError('not_found', `${id} is not a member of team ${team.team_id}`, { field: 'member' });
  };

  return { pipeline, teams, run, knownSession, teamOf, notIn };
}

/** Teams: list, create, clean up, read, remove, shut down, their logs and timelines. */
async function teamLifecycleRoutes(app: FastifyInstance, { pipeline, teams, run, knownSession, teamOf }: TeamRouteContext): Promise<void> {
  app.get('/v1/teams', async (request, reply) => {
    const query = parseWith(ListTeams, request.query, 'query');
    const principal = principalOf(request);
    const all = teamsInOrder(teams()).filter((t) => (query.all || t.status !== 'removed') && teamAllowed(pipeline.readModels, principal, t.team_id));
    const { items, next_cursor } = page(request, reply, all, (t) => [t.created_at, t.team_id], query);
    const { sessions } = pipeline.readModels;
    const now = pipeline.now();
    return { teams: items.map((t) => ({ ...teamSummary(t), lead: leadLiveness(t, sessions, now) })), pos: pipeline.readModels.pos, next_cursor };
  });

  app.post('/v1/teams', async (request, reply) => {
    const body = parseWith(CreateTeam, request.body);
    knownSession(body.lead.session_id, 'lead.session_id');
    const teamId = body.id ?? newId();
    createdTeamIds.set(request, teamId);
    const envelopes = await run(request, teamId, { type: 'create_team', team_id: teamId, name: body.name, goal: body.goal, lead: body.lead });
    return sendCommandResult(reply, 201, envelopes, { team_id: createdId(envelopes, 'team_id', teamId) });
  });

  app.post('/v1/teams/cleanup', async (request, reply) => {
    const target = cleanupTarget(parseWith(Cleanup, request.body));
    const { removed, event } = await cleanupTeams(pipeline, target, commandContext(request));
    return sendCommandResult(reply, 200, [event], { scope: target.scope, removed: removed.length, team_ids: removed });
  });

  app.get('/v1/teams/:id', async (request, reply) => {
    parseWith(AsOfOnly, request.query, 'query');
    const team = await teamOf(request);
    void reply.header('etag', `"${team.version}"`);
    return presentTeam(team);
  });

  app.delete('/v1/teams/:id', async (request, reply) => {
    const id = idParam(request, 'id');
    return sendCommandResult(reply, 200, await run(request, id, { type: 'remove_team', reason: 'delete' }), { team_id: id, removed: true });
  });

  app.post('/v1/teams/:id/shutdown', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(Shutdown, request.body);
    return sendCommandResult(reply, 200, await run(request, id, { type: 'shutdown_team', reason: body?.reason }), { team_id: id });
  });

  logRoute(app, pipeline, 'teams', 'team');

  // From the logs alone (the team's, then its lead session's): a removed team keeps its timeline.
  app.get('/v1/teams/:id/timeline', async (request, reply) => {
    const id = idParam(request, 'id');
    const query = parseWith(TimelineQuery, request.query, 'query');
    if (pipeline.store.version(`teams/${id}`) === 0) throw new BmoError('not_found', `no team ${id}; GET /v1/teams?all=true lists them`, { field: 'id' });
    let state = teamTimelineProjection.initialState();
    for await (const { envelope } of pipeline.store.readStream(`teams/${id}`)) state = teamTimelineProjection.evolve(state, envelope);
    const leadSession = state.team?.lead_session_id;
    if (leadSession) for await (const { envelope } of pipeline.store.readStream(`sessions/${leadSession}`)) state = teamTimelineProjection.evolve(state, envelope);
    const all = timelineEntries(state);
    const { items, next_cursor } = page(request, reply, all, (entry) => [entry.pos], query);
    return { team_id: id, ...presentTimeline(state, { now: pipeline.now(), entries: items, total: all.length }), next_cursor };
  });
}

/** Members: who is in a team, joining, leaving, what a member holds. */
async function memberRoutes(app: FastifyInstance, { pipeline, teams, run, knownSession, teamOf, notIn }: TeamRouteContext): Promise<void> {
  // Liveness is of now (sessions and leases move with the clock), so it has a route of its own, never read as of a point.
  app.get('/v1/teams/:id/members', async (request) => {
    const id = idParam(request, 'id');
    if ((request.query as Record<string, unknown> | undefined)?.as_of !== undefined) {
      throw new BmoError('bad_request', `as_of: this list's liveness is of now, never of a point; GET /v1/teams/${id}?as_of=… has the members as they were`, { field: 'query.as_of' });
    }
    parseWith(NoQuery, request.query, 'query');
    const team = teams().get(id);
    if (!team || team.status === 'removed') throw new BmoError('not_found', `no team ${id}; GET /v1/teams lists them`, { field: 'id' });
    const now = pipeline.now();
    const members = [...team.members.values()].filter((m) => m.active).map((m) => ({ ...m, liveness: memberLiveness(team, m.member_id, pipeline.readModels.sessions, now) }));
    return { team_id: id, version: team.version, pos: pipeline.readModels.pos, members };
  });

  app.post('/v1/teams/:id/members', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(JoinTeam, request.body);
    knownSession(body.session_id, 'session_id');
    const memberId = body.member_id ?? newId();
    const envelopes = await run(request, id, { type: 'join_team', member_id: memberId, name: body.name, role: body.role, session_id: body.session_id });
    // A member already in the team, joining from a new session, moved to it (200); from the same one, nothing changed.
    const joinedNow = envelopes.some((e) => e.type === 'member_joined');
    return sendCommandResult(reply, joinedNow ? 201 : 200, envelopes, { team_id: id, member_id: createdId(envelopes, 'member_id', memberId) });
  });

  app.delete('/v1/teams/:id/members/:member', async (request, reply) => {
    const id = idParam(request, 'id');
    const memberId = idParam(request, 'member');
    const body = parseWith(LeaveTeam, request.body);
    return sendCommandResult(reply, 200, await run(request, id, { type: 'leave_team', member_id: memberId, reason: body?.reason }), { team_id: id, member_id: memberId });
  });

  app.get('/v1/teams/:id/members/:member', async (request) => {
    parseWith(AsOfOnly, request.query, 'query');
    const team = await teamOf(request);
    const memberId = idParam(request, 'member');
    const member = team.members.get(memberId);
    if (!member) throw notIn(request, team, 'member', memberId);
    const holds = [...team.tasks.values()].filter((t) => t.status === 'claimed' && t.owner === memberId).map((t) => t.task_id);
    return { team_id: team.team_id, version: team.version, ...member, holds };
  });
}

/** Tasks: listed, created, read, updated, claimed, released, completed, failed. */
async function taskRoutes(app: FastifyInstance, { run, knownSession, teamOf, notIn }: TeamRouteContext): Promise<void> {
  app.get('/v1/teams/:id/tasks', async (request, reply) => {
    const team = await teamOf(request);
    const query = parseWith(ListTasks, request.query, 'query');
    const matches = (task: TaskView) => (!query.ready || taskIsReady(team, task)) && (query.status === undefined || task.status === query.status);
    const { items, next_cursor } = pageInOrder(request, reply, [...team.tasks.values()], query, matches);
    return { team_id: team.team_id, version: team.version, tasks: items.map((task) => presentTask(team, task)), next_cursor };
  });

  app.post('/v1/teams/:id/tasks', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(CreateTask, request.body);
    const taskId = body.task_id ?? newId();
    const envelopes = await run(request, id, { type: 'create_task', task_id: taskId, title: body.title, description: body.description, blocked_by: body.blocked_by });
    return sendCommandResult(reply, 201, envelopes, { team_id: id, task_id: createdId(envelopes, 'task_id', taskId) });
  });

  app.get('/v1/teams/:id/tasks/:task', async (request) => {
    parseWith(AsOfOnly, request.query, 'query');
    const team = await teamOf(request);
    const taskId = idParam(request, 'task');
    const task = team.tasks.get(taskId);
    if (!task) throw notIn(request, team, 'task', taskId);
    return presentTask(team, task);
  });

  app.patch('/v1/teams/:id/tasks/:task', async (request, reply) => {
    const id = idParam(request, 'id');
    const taskId = idParam(request, 'task');
    const body = parseWith(UpdateTask, request.body);
    return sendCommandResult(reply, 200, await run(request, id, { type: 'update_task', task_id: taskId, ...body }), { team_id: id, task_id: taskId });
  });

  app.post('/v1/teams/:id/tasks/:task/claim', async (request, reply) => {
    const id = idParam(request, 'id');
    const taskId = idParam(request, 'task');
    const body = parseWith(ClaimTask, request.body);
    knownSession(body.session_id, 'session_id');
    const envelopes = await run(request, id, { type: 'claim_task', task_id: taskId, member_id: body.member_id, session_id: body.session_id, lease_ms: body.lease_ms });
    const claim = envelopes.find((e) => e.type === 'task_claimed');
    const data = claim?.type === 'task_claimed' ? claim.data : undefined;
    return sendCommandResult(reply, 200, envelopes, { team_id: id, task_id: taskId, fencing_token: data?.fencing_token, lease_expires_at: data?.lease_expires_at });
  });

  for (const action of ['release', 'complete', 'fail'] as const) {
    const schema = action === 'complete' ? CompleteTask : action === 'fail' ? FailTask : HeldTask;
    app.post(`/v1/teams/:id/tasks/:task/${action}`, async (request, reply) => {
      const id = idParam(request, 'id');
      const taskId = idParam(request, 'task');
      const body = parseWith(schema, request.body) as z.output<typeof FailTask> & z.output<typeof CompleteTask>;
      const command: TeamCommand =
        action === 'release'
          ? { type: 'release_task', task_id: taskId, member_id: body.member_id, fencing_token: body.fencing_token }
          : action === 'complete'
            ? { type: 'complete_task', task_id: taskId, member_id: body.member_id, fencing_token: body.fencing_token, result: body.result }
            : { type: 'fail_task', task_id: taskId, member_id: body.member_id, fencing_token: body.fencing_token, error: body.error };
      return sendCommandResult(reply, 200, await run(request, id, command), { team_id: id, task_id: taskId });
    });
  }
}

/** Messages: sent, read, and each member's inbox. */
async function messageRoutes(app: FastifyInstance, { run, teamOf, notIn }: TeamRouteContext): Promise<void> {
  app.post('/v1/teams/:id/messages', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(SendMessage, request.body);
    const messageId = body.message_id ?? newId();
    const envelopes = await run(request, id, { type: 'send_message', message_id: messageId, from: body.from, to: body.to, body: body.body });
    return sendCommandResult(reply, 201, envelopes, { team_id: id, message_id: createdId(envelopes, 'message_id', messageId) });
  });

  app.get('/v1/teams/:id/members/:member/inbox', async (request, reply) => {
    const team = await teamOf(request);
    const memberId = idParam(request, 'member');
    if (!team.members.has(memberId)) throw notIn(request, team, 'member', memberId);
    const query = parseWith(Inbox, request.query, 'query');
    const unread = query.unread ? (message: MessageView) => !message.read_by.includes(memberId) : undefined;
    const { items, next_cursor } = pageInOrder(request, reply, inboxOf(team, memberId), query, unread);
    const messages = items.map((message) => ({ ...message, read: message.read_by.includes(memberId) }));
    return { team_id: team.team_id, member_id: memberId, version: team.version, messages, next_cursor };
  });

  app.post('/v1/teams/:id/messages/:message/read', async (request, reply) => {
    const id = idParam(request, 'id');
    const messageId = idParam(request, 'message');
    const body = parseWith(ReadMessage, request.body);
    return sendCommandResult(reply, 200, await run(request, id, { type: 'read_message', message_id: messageId, member_id: body.member_id }), { team_id: id, message_id: messageId });
  });
}
