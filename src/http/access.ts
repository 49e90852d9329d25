import type { FastifyRequest } from 'fastify';
import { idIn } from '../../events/index.js';
import { CREDENTIALS_STREAM } from '../../projections/credentials.js';
import { BmoError } from '../errors.js';
import type { ReadModels } from '../pipeline/read-models.js';
import type { Principal } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who makes the request: set by the bearer check, before any route runs. */
    principal: Principal;
  }
}

/** The principal of a request, as the bearer check under /v1 resolved it; a route outside /v1 has none to ask for. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new BmoError('internal', `${request.method} ${request.routeOptions.url} asked who the caller is before the bearer check ran`);
  return request.principal;
}

/** The teams a principal may act in or read: its listed ones, or (`*`) every one for an observer, the ones it created or joined for an agent. */
export function teamAllowed(models: ReadModels, principal: Principal, teamId: string): boolean {
  if (principal.role === 'admin') return true;
  const { teams } = principal.scope;
  if (teams !== '*' && teams.includes(teamId)) return true;
  if (principal.role === 'observer') return teams === '*';
  return models.credentials.teams.get(principal.credential_id)?.has(teamId) ?? false;
}

/** Whether a principal sees a stream at all (on the stream, in lists): its teams; never the credentials. */
export function streamAllowed(models: ReadModels, principal: Principal, stream: string): boolean {
  if (principal.role === 'admin') return true;
  if (stream === CREDENTIALS_STREAM) return false;
  const teamId = idIn('teams', stream);
  if (teamId !== undefined) return teamAllowed(models, principal, teamId);
  return principal.role === 'observer' || principal.scope.teams === '*';
}

type Body = Record<string, unknown>;

/**
 * One request's object-level check, for an agent: its own member, session and teams. A field an
 * agent leaves out is filled with its own value; another value is `403` naming the field.
 */
class AgentAccess {
  constructor(
    readonly principal: Principal,
    readonly models: ReadModels,
    readonly request: FastifyRequest,
  ) {}

  private get params(): Record<string, string> {
    return (this.request.params ?? {}) as Record<string, string>;
  }

  param(name: string): string {
    return this.params[name];
  }

  /** The body as an object to fill (one is made for a request that sent none); undefined for a body the schema will refuse. */
  private body(): Body | undefined {
    if (this.request.body === undefined || this.request.body === null) this.request.body = {};
    const body = this.request.body;
    return typeof body === 'object' && !Array.isArray(body) ? (body as Body) : undefined;
  }

  /** `path` (e.g. `lead.member_id`) in the body is the agent's own `value`: filled when absent, refused when another. */
  private ownField(path: string, value: string | undefined, isOwn: (given: string) => boolean, what: string): void {
    const keys = path.split('.');
    let holder = this.body();
    for (const key of keys.slice(0, -1)) {
      const next = holder?.[key];
      holder = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Body) : undefined;
    }
    const last = keys[keys.length - 1];
    if (!holder) return;
    const given = holder[last];
    if (given === undefined) {
      if (value !== undefined) holder[last] = value;
      return;
    }
    if (typeof given === 'string' && !isOwn(given)) throw refuse(path, `${path}: this credential acts as ${what}, not ${given}; leave ${path} out or send your own`);
  }

  member(path: string): void {
    const own = this.principal.member_id;
    this.ownField(path, own, (given) => given === own, `member ${own}`);
  }

  session(path: string): void {
    this.ownField(path, this.principal.session_id, (given) => this.ownsSession(given), this.sessionWords());
  }

  /** A session param (`/v1/sessions/:id/…`) is the agent's own. */
  sessionParam(name: string): void {
    const given = this.params[name];
    if (given !== undefined && !this.ownsSession(given)) throw refuse(name, `${name}: session ${given} is not this credential's (${this.sessionWords()}); an agent heartbeats and ends its own session only`);
  }

  memberParam(name: string): void {
    const given = this.params[name];
    if (given !== undefined && given !== this.principal.member_id) throw refuse(name, `${name}: this credential acts as member ${this.principal.member_id}, not ${given}; an agent reads its own inbox only`);
  }

  /** A session the agent's credential names, or one it started itself. */
  ownsSession(sessionId: string): boolean {
    if (this.principal.session_id === sessionId) return true;
    return this.models.credentials.sessions.get(this.principal.credential_id)?.ids.has(sessionId) ?? false;
  }

  private sessionWords(): string {
    return this.principal.session_id ? `session ${this.principal.session_id}` : 'no session yet (start one with POST /v1/sessions)';
  }

  /** `X-Session-Id`, when sent, is one of the agent's sessions (a session that never existed is not). */
  sessionHeader(): void {
    const given = this.request.headers['x-session-id'];
    const value = Array.isArray(given) ? given[0] : given;
    if (value !== undefined && !this.ownsSession(value)) throw refuse('X-Session-Id', `X-Session-Id: session ${value} is not this credential's (${this.sessionWords()}); leave the header out or send your own`);
  }

  /** A session the agent starts: the one its credential names, if it names one. */
  startSession(): void {
    const fixed = this.principal.session_id !== undefined && this.models.credentials.credentials.get(this.principal.credential_id)?.session_id !== undefined;
    if (fixed) this.session('session_id');
  }

  inTeam(field = 'id'): void {
    const teamId = this.params.id;
    if (teamId !== undefined && !teamAllowed(this.models, this.principal, teamId)) {
      throw refuse(field, `${field}: team ${teamId} is outside this credential's scope; join it first (POST /v1/teams/${teamId}/members), or ask an admin for a credential that names it`);
    }
  }

  /** Joining: any team for scope `*`, a listed one otherwise. */
  mayJoin(): void {
    const teamId = this.params.id;
    if (this.principal.scope.teams === '*' || teamAllowed(this.models, this.principal, teamId)) return;
    throw refuse('id', `id: team ${teamId} is not in this credential's scope (${this.principal.scope.teams.join(', ') || 'no teams'}); ask an admin for a credential that names it`);
  }

  /** Only the team's lead (or an admin) removes another member, shuts the team down, deletes or cleans it up. */
  lead(teamId: string, field: string, what: string): void {
    if (!teamAllowed(this.models, this.principal, teamId)) throw refuse(field, `${field}: team ${teamId} is outside this credential's scope; only its lead or an admin may ${what}`);
    // A team this server does not hold (a forwarding server's) has no lead to check: refused, not waved through.
    const team = this.models.teams.get(teamId);
    if (!team) throw refuse(field, `${field}: team ${teamId} is not held here, so its lead cannot be checked; only an admin may ${what}`);
    if (team.lead_member_id !== this.principal.member_id) throw refuse(field, `${field}: only the lead of team ${teamId} (${team.lead_member_id}) or an admin may ${what}`);
  }

  /** A claim is released, completed or failed by the member who holds it, whatever fencing token is sent. */
  holdsTask(): void {
    const team = this.models.teams.get(this.params.id);
    if (!team) throw refuse('id', `id: team ${this.params.id} is not held here, so who holds the claim cannot be checked; only an admin may release, complete or fail it`);
    const task = team.tasks.get(this.params.task);
    if (task?.status === 'claimed' && task.owner !== this.principal.member_id) {
      throw refuse('member_id', `member_id: task ${task.task_id} is held by another member; only its holder may release, complete or fail it`);
    }
  }

  workstream(): void {
    const id = this.params.id;
    const { credential_id, scope } = this.principal;
    if (scope.workstreams.includes(id) || this.models.credentials.workstreams.get(credential_id)?.has(id)) return;
    throw refuse('id', `id: workstream ${id} was not created by this credential and its scope does not name it; ask an admin for one that does`);
  }
}

const refuse = (field: string, message: string) => new BmoError('forbidden', message, { field });

type AgentRule = (access: AgentAccess) => void;

const HELD: AgentRule = (a) => {
  a.inTeam();
  a.member('member_id');
  a.holdsTask();
};

/** What an agent may write, route by route; a write not listed here is refused. */
const AGENT_WRITES: Record<string, AgentRule> = {
  'POST /v1/teams': (a) => {
    a.member('lead.member_id');
    a.session('lead.session_id');
  },
  'POST /v1/teams/cleanup': (a) => {
    const body = (a.request.body ?? {}) as Body;
    if (body.scope !== 'single' || typeof body.team_id !== 'string') throw refuse('scope', 'scope: cleaning up every team is for an admin; an agent cleans up its own team (scope "single", team_id)');
    a.lead(body.team_id, 'team_id', 'clean it up');
  },
  'DELETE /v1/teams/:id': (a) => a.lead(a.param('id'), 'id', 'delete it'),
  'POST /v1/teams/:id/shutdown': (a) => a.lead(a.param('id'), 'id', 'shut it down'),
  'POST /v1/teams/:id/members': (a) => {
    a.mayJoin();
    a.member('member_id');
    a.session('session_id');
  },
  'DELETE /v1/teams/:id/members/:member': (a) => {
    a.inTeam();
    if (a.param('member') !== a.principal.member_id) a.lead(a.param('id'), 'member', 'remove another member');
  },
  'POST /v1/teams/:id/tasks': (a) => a.inTeam(),
  'PATCH /v1/teams/:id/tasks/:task': (a) => a.inTeam(),
  'POST /v1/teams/:id/tasks/:task/claim': (a) => {
    a.inTeam();
    a.member('member_id');
    a.session('session_id');
  },
  'POST /v1/teams/:id/tasks/:task/release': HELD,
  'POST /v1/teams/:id/tasks/:task/complete': HELD,
  'POST /v1/teams/:id/tasks/:task/fail': HELD,
  'POST /v1/teams/:id/messages': (a) => {
    a.inTeam();
    a.member('from');
  },
  'POST /v1/teams/:id/messages/:message/read': (a) => {
    a.inTeam();
    a.member('member_id');
  },
  'POST /v1/sessions': (a) => a.startSession(),
  'POST /v1/sessions/:id/heartbeat': (a) => a.sessionParam('id'),
  'POST /v1/sessions/:id/end': (a) => a.sessionParam('id'),
  'POST /v1/workstreams': () => {},
};

/** Reads an agent or observer may make only of its own: its teams, its inbox; the credentials never. */
function checkRead(route: string, principal: Principal, models: ReadModels, request: FastifyRequest): void {
  const params = (request.params ?? {}) as Record<string, string>;
  if (route.startsWith('/v1/credentials') || (route === '/v1/system/:id/events' && params.id === 'credentials')) {
    throw refuse('Authorization', 'credentials are for an admin to read; use the admin token');
  }
  if (route.startsWith('/v1/teams/:id') && params.id !== undefined && !teamAllowed(models, principal, params.id)) {
    throw refuse('id', `id: team ${params.id} is outside this credential's scope`);
  }
  if (route === '/v1/teams/:id/members/:member/inbox' && principal.role === 'agent') new AgentAccess(principal, models, request).memberParam('member');
}

/**
 * The object-level rules, applied once per request after its body is parsed and before any route
 * runs: a refusal is `403` naming the field, and nothing is decided or written.
 */
export function checkAccess(request: FastifyRequest, models: ReadModels): void {
  const principal = principalOf(request);
  if (principal.role === 'admin') return;
  const route = request.routeOptions.url ?? '';
  // Each MCP tool call is checked as the HTTP request it becomes, with this same credential.
  if (route === '/mcp') return;
  const method = request.method;
  if (method === 'GET' || method === 'HEAD') return checkRead(route, principal, models, request);
  if (principal.role === 'observer') throw refuse('Authorization', `an observer credential only reads; ${method} ${route} needs an agent or admin credential`);
  const access = new AgentAccess(principal, models, request);
  access.sessionHeader();
  const rule = AGENT_WRITES[`${method} ${route}`];
  if (rule) return rule(access);
  if (route.startsWith('/v1/workstreams/:id')) return access.workstream();
  throw refuse('Authorization', `an agent credential may not ${method} ${route}; that takes an admin credential`);
}
