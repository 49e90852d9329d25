import type { FastifyInstance, RouteOptions } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EnvelopeSchema } from '../../events/index.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { WEB_ROOT } from './page.js';
import { AsOfQuery } from './request.js';
import * as S from './schemas.js';
import { Subscribe } from './stream.js';

/** What a route answers when it succeeds. */
type Answer = 'command' | 'json' | 'log' | 'handoff' | 'metrics' | 'html' | 'upgrade' | 'openapi';

interface RouteDoc {
  summary: string;
  tag: 'teams' | 'sessions' | 'workstreams' | 'events' | 'operator';
  body?: z.ZodType;
  query?: z.ZodType;
  answer?: Answer;
  /** The success status (200 unless told). */
  status?: number;
  /** Codes beyond those every route of its kind can answer. */
  errors?: ErrorCode[];
  /** No token needed. */
  open?: boolean;
}

const TEAM_TASK = '/v1/teams/:id/tasks/:task';
const WS = '/v1/workstreams/:id';

/**
 * Every route of the HTTP surface, by method and fastify pattern; the request shapes are the zod
 * schemas the routes parse with. A test checks that this table and the registered routes agree.
 */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /': { tag: 'operator', summary: 'The operator page', answer: 'html', open: true },
  'GET /healthz': { tag: 'operator', summary: 'Liveness and the last committed position', open: true },
  'GET /metrics': { tag: 'operator', summary: 'Prometheus text; open to loopback with [metrics] public_on_loopback', answer: 'metrics' },
  'GET /openapi.json': { tag: 'operator', summary: 'This document', answer: 'openapi', open: true },
  'GET /v1/stream': { tag: 'events', summary: 'WebSocket: stored events after `from`, then live ones, and the posture', query: Subscribe, answer: 'upgrade', errors: ['forbidden'] },
  'GET /v1/events': { tag: 'events', summary: 'The whole log after a position, a page at a time', query: S.EventsSince, answer: 'log' },
  'POST /mcp': { tag: 'operator', summary: 'MCP over Streamable HTTP: JSON-RPC requests (initialize, tools/call, resources/read, …)', answer: 'json' },
  'GET /mcp': { tag: 'operator', summary: 'MCP over Streamable HTTP: the session’s notification stream (Mcp-Session-Id)', answer: 'json' },
  'DELETE /mcp': { tag: 'operator', summary: 'MCP over Streamable HTTP: end the session (Mcp-Session-Id)', answer: 'json' },
  'GET /v1/whoami': { tag: 'operator', summary: 'The caller’s own credential: id, role, member, session, scope' },
  'POST /v1/credentials': { tag: 'operator', summary: 'Issue a credential (admin); the token is shown once', body: S.IssueCredential, answer: 'json', status: 201, errors: ['forbidden'] },
  'GET /v1/credentials': { tag: 'operator', summary: 'Credentials, never a secret (admin)', query: S.ListCredentials, errors: ['forbidden'] },
  'GET /v1/credentials/:id': { tag: 'operator', summary: 'One credential (admin)', errors: ['forbidden'] },
  'DELETE /v1/credentials/:id': { tag: 'operator', summary: 'Revoke a credential (admin)', body: S.RevokeCredential, answer: 'json', errors: ['forbidden'] },
  'GET /v1/system/:id/events': { tag: 'events', summary: 'A store-wide log (cleanup, remote)', query: S.ReadEventsQuery, answer: 'log' },

  'GET /v1/teams': { tag: 'teams', summary: 'Teams, a page at a time, with each lead’s liveness', query: S.ListTeams },
  'POST /v1/teams': { tag: 'teams', summary: 'Create a team with its lead', body: S.CreateTeam, answer: 'command', status: 201 },
  'GET /v1/teams/posture': { tag: 'teams', summary: 'The posture snapshot every surface reads (with the chip), now or as of a point', query: AsOfQuery },
  'GET /v1/teams/events/recent': { tag: 'teams', summary: 'The tail of the recent team events ring', query: S.RecentQuery },
  'GET /v1/teams/remote': { tag: 'teams', summary: 'The remote teams server’s health as this instance saw it' },
  'POST /v1/teams/remote/reset': { tag: 'teams', summary: 'Clear the degraded flag (an operator reset)', answer: 'command' },
  'POST /v1/teams/cleanup': { tag: 'teams', summary: 'Remove orphaned teams (scope all or single)', body: S.Cleanup, answer: 'command' },
  'GET /v1/teams/:id': { tag: 'teams', summary: 'One team: members, tasks, message count; now or as of a point', query: AsOfQuery },
  'GET /v1/teams/:id/timeline': { tag: 'teams', summary: 'Who did what, when, for how long, from the team’s log', query: S.TimelineQuery },
  'GET /v1/teams/:id/members': { tag: 'teams', summary: 'The active members with their liveness now' },
  'GET /v1/teams/:id/members/:member': { tag: 'teams', summary: 'One member and the tasks it holds; now or as of a point', query: AsOfQuery },
  'DELETE /v1/teams/:id': { tag: 'teams', summary: 'Remove a team (its log stays)', answer: 'command' },
  'POST /v1/teams/:id/shutdown': { tag: 'teams', summary: 'Shut a team down', body: S.Shutdown, answer: 'command' },
  'GET /v1/teams/:id/events': { tag: 'teams', summary: 'The team’s log from a seq', query: S.ReadEventsQuery, answer: 'log' },
  'POST /v1/teams/:id/members': { tag: 'teams', summary: 'Join a member', body: S.JoinTeam, answer: 'command', status: 201 },
  'DELETE /v1/teams/:id/members/:member': { tag: 'teams', summary: 'A member leaves', body: S.LeaveTeam, answer: 'command' },
  'GET /v1/teams/:id/members/:member/inbox': { tag: 'teams', summary: 'A member’s inbox', query: S.Inbox },
  'GET /v1/teams/:id/tasks': { tag: 'teams', summary: 'The team’s tasks (`ready=true`: what can be claimed now)', query: S.ListTasks },
  'POST /v1/teams/:id/tasks': { tag: 'teams', summary: 'Create a task', body: S.CreateTask, answer: 'command', status: 201 },
  [`GET ${TEAM_TASK}`]: { tag: 'teams', summary: 'One task; now or as of a point', query: AsOfQuery },
  [`PATCH ${TEAM_TASK}`]: { tag: 'teams', summary: 'Change a task’s title, description or blocked_by', body: S.UpdateTask, answer: 'command' },
  [`POST ${TEAM_TASK}/claim`]: { tag: 'teams', summary: 'Claim a task (a lease and a fencing token)', body: S.ClaimTask, answer: 'command' },
  [`POST ${TEAM_TASK}/release`]: { tag: 'teams', summary: 'Give a claimed task back', body: S.HeldTask, answer: 'command' },
  [`POST ${TEAM_TASK}/complete`]: { tag: 'teams', summary: 'Complete a claimed task', body: S.CompleteTask, answer: 'command' },
  [`POST ${TEAM_TASK}/fail`]: { tag: 'teams', summary: 'Fail a claimed task', body: S.FailTask, answer: 'command' },
  'POST /v1/teams/:id/messages': { tag: 'teams', summary: 'Send a message to a member or to everyone (`*`)', body: S.SendMessage, answer: 'command', status: 201 },
  'POST /v1/teams/:id/messages/:message/read': { tag: 'teams', summary: 'Mark a message read by a member', body: S.ReadMessage, answer: 'command' },

  'GET /v1/sessions': { tag: 'sessions', summary: 'Sessions with their state', query: S.ListSessions },
  'POST /v1/sessions': { tag: 'sessions', summary: 'Start a session', body: S.StartSession, answer: 'command', status: 201 },
  'GET /v1/sessions/:id': { tag: 'sessions', summary: 'One session' },
  'GET /v1/sessions/:id/events': { tag: 'sessions', summary: 'The session’s log from a seq', query: S.ReadEventsQuery, answer: 'log' },
  'POST /v1/sessions/:id/heartbeat': { tag: 'sessions', summary: 'Keep the session and its claims alive', body: S.Heartbeat, answer: 'command' },
  'POST /v1/sessions/:id/end': { tag: 'sessions', summary: 'End the session', body: S.EndSession, answer: 'command' },

  'GET /v1/workstreams': { tag: 'workstreams', summary: 'Workstreams (by session or status)', query: S.ListWorkstreams },
  'POST /v1/workstreams': { tag: 'workstreams', summary: 'Create a workstream', body: S.CreateWorkstream, answer: 'command', status: 201 },
  [`GET ${WS}`]: { tag: 'workstreams', summary: 'One workstream and everything attached; now or as of a point', query: AsOfQuery },
  [`GET ${WS}/status`]: { tag: 'workstreams', summary: 'The bounded status summary; now or as of a point', query: AsOfQuery },
  [`GET ${WS}/recipe`]: { tag: 'workstreams', summary: 'The recipe’s steps and where each stands' },
  [`POST ${WS}/recipe`]: { tag: 'workstreams', summary: 'Set a recipe step’s command', body: S.SetRecipeStep, answer: 'command' },
  [`POST ${WS}/status`]: { tag: 'workstreams', summary: 'Set the outcome', body: S.ChangeStatus, answer: 'command' },
  [`PUT ${WS}/status`]: { tag: 'workstreams', summary: 'Set the outcome', body: S.ChangeStatus, answer: 'command' },
  [`GET ${WS}/handoff`]: { tag: 'workstreams', summary: 'The handoff, as JSON or markdown', query: S.HandoffQuery, answer: 'handoff' },
  [`GET ${WS}/events`]: { tag: 'workstreams', summary: 'The workstream’s log from a seq', query: S.ReadEventsQuery, answer: 'log' },
  [`POST ${WS}/plan`]: { tag: 'workstreams', summary: 'Bind the plan', body: S.BindPlan, answer: 'command' },
  [`PUT ${WS}/plan`]: { tag: 'workstreams', summary: 'Bind the plan', body: S.BindPlan, answer: 'command' },
  [`POST ${WS}/boundary`]: { tag: 'workstreams', summary: 'Declare the boundary', body: S.DeclareBoundary, answer: 'command' },
  [`PUT ${WS}/boundary`]: { tag: 'workstreams', summary: 'Declare the boundary', body: S.DeclareBoundary, answer: 'command' },
  [`GET ${WS}/verify-runs`]: { tag: 'workstreams', summary: 'Verify runs', query: S.ListEvidence },
  [`POST ${WS}/verify-runs`]: { tag: 'workstreams', summary: 'Record a verify run', body: S.RecordVerifyRun, answer: 'command', status: 201 },
  [`GET ${WS}/verify-runs/:run`]: { tag: 'workstreams', summary: 'One verify run' },
  [`GET ${WS}/nanites`]: { tag: 'workstreams', summary: 'Nanites', query: S.ListEvidence },
  [`POST ${WS}/nanites`]: { tag: 'workstreams', summary: 'Start a nanite', body: S.StartNanite, answer: 'command', status: 201 },
  [`GET ${WS}/nanites/:nanite`]: { tag: 'workstreams', summary: 'One nanite' },
  [`POST ${WS}/nanites/:nanite/complete`]: { tag: 'workstreams', summary: 'Record a nanite’s outcome', body: S.CompleteNanite, answer: 'command' },
  [`GET ${WS}/findings`]: { tag: 'workstreams', summary: 'Findings', query: S.ListEvidence },
  [`POST ${WS}/findings`]: { tag: 'workstreams', summary: 'Record a finding', body: S.RecordFinding, answer: 'command', status: 201 },
  [`GET ${WS}/artifacts`]: { tag: 'workstreams', summary: 'Artifacts', query: S.ListEvidence },
  [`POST ${WS}/artifacts`]: { tag: 'workstreams', summary: 'Attach an artifact', body: S.AttachArtifact, answer: 'command', status: 201 },
  [`GET ${WS}/markers`]: { tag: 'workstreams', summary: 'Markers (`open=true`: not cleared)', query: S.MarkersQuery },
  [`POST ${WS}/markers`]: { tag: 'workstreams', summary: 'Add a marker', body: S.AddMarker, answer: 'command', status: 201 },
  [`POST ${WS}/markers/:marker/clear`]: { tag: 'workstreams', summary: 'Clear a marker', body: S.ClearMarker, answer: 'command' },
  [`DELETE ${WS}/markers/:marker`]: { tag: 'workstreams', summary: 'Clear a marker', body: S.ClearMarker, answer: 'command' },
  'GET /v1/cartography': { tag: 'workstreams', summary: 'Heat per workstream and path, open markers, trail', query: S.CartographyQuery },
};

/**
 * Codes no HTTP route answers, and why: documented all the same. Keyed by name, not by the
 * catalogue's type, so that a code leaving the catalogue leaves only a line to delete here.
 */
const NOT_OVER_HTTP_REASONS: Record<string, string> = {
  store_locked: 'the CLI, when the data directory is held by another bmo',
  request_timeout: 'the connection, before any route: headers and body not all in within [server] request_timeout_ms',
  headers_too_large: 'the connection, before any route: headers over [server] max_header_bytes',
};
export const NOT_OVER_HTTP: Record<string, string> = Object.fromEntries(Object.entries(NOT_OVER_HTTP_REASONS).filter(([code]) => code in ERROR_CODES));

/** The codes a route can answer: those of every route of its kind, and its own. */
export function errorsOf(method: string, url: string, doc: RouteDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>(['internal']);
  if (!doc.open) codes.add('unauthorized');
  // A credential's scope and its request budget hold on every route behind the token.
  if (!doc.open && url.startsWith('/v1')) codes.add('forbidden').add('rate_limited');
  if (url.includes('/:')) codes.add('invalid_id');
  if (doc.body) codes.add('invalid_body');
  if (doc.query) codes.add('bad_request');
  if (url.includes('/:id')) codes.add('not_found');
  if (doc.body) codes.add('payload_too_large').add('unsupported_media_type');
  if (doc.answer === 'log' || url === '/v1/events' || url === '/v1/stream') codes.add('corrupt_log');
  if (method !== 'GET') codes.add('conflict').add('version_conflict').add('idempotency_mismatch').add('store_unavailable').add('store_read_only').add('bad_request');
  if (url.startsWith('/v1/teams') || url.startsWith('/v1/sessions')) {
    if (url.startsWith('/v1/teams')) codes.add('teams_disabled');
    // With [options.teams] server_url set, these are forwarded to the remote teams server.
    if (!url.startsWith('/v1/teams/remote')) codes.add('remote_failed').add('remote_unauthorized').add('remote_timeout');
  }
  for (const code of doc.errors ?? []) codes.add(code);
  return [...codes].sort();
}

const schemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

/** Reads of one team or workstream (and what hangs off them) also answer as of a point: `?as_of=<pos or ISO time>`. */
const AS_OF_READ = /^\/v1\/(workstreams\/:id(?!\/events)|teams\/:id(\/tasks|\/members\/:member)|teams\/:id$)/;

function parametersOf(method: string, url: string, query: z.ZodType | undefined) {
  const params = [...url.matchAll(/:([a-z]+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' } as Record<string, unknown> }));
  const queries = [query, method === 'GET' && AS_OF_READ.test(url) ? AsOfQuery : undefined];
  for (const schema of queries) {
    if (!schema) continue;
    const json = schemaOf(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      if (!params.some((p) => p.name === name)) params.push({ name, in: 'query', required: (json.required ?? []).includes(name), schema: property });
    }
  }
  return params;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function responsesOf(method: string, url: string, doc: RouteDoc) {
  const ok = String(doc.status ?? (doc.answer === 'upgrade' ? 101 : 200));
  const content = ({
    command: { 'application/json': { schema: { $ref: '#/components/schemas/CommandResult' } } },
    json: { 'application/json': { schema: { type: 'object' } } },
    log: { 'application/json': { schema: { $ref: '#/components/schemas/Log' } }, 'application/x-ndjson': { schema: { $ref: '#/components/schemas/Envelope' } } },
    handoff: { 'application/json': { schema: { type: 'object' } }, 'text/markdown': { schema: { type: 'string' } } },
    metrics: { 'text/plain': { schema: { type: 'string' } } },
    html: { 'text/html': { schema: { type: 'string' } } },
    openapi: { 'application/json': { schema: { type: 'object' } } },
    upgrade: undefined,
  } as Record<Answer, unknown>)[doc.answer ?? 'json'];
  const responses: Record<string, unknown> = { [ok]: { description: doc.answer === 'upgrade' ? 'Switching to the WebSocket protocol' : 'OK', ...(content ? { content } : {}) } };
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorsOf(method, url, doc)) byStatus.set(ERROR_CODES[code], [...(byStatus.get(ERROR_CODES[code]) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = { description: codes.join(', '), 'x-bmo-errors': codes, content: { 'application/json': { schema: ERROR_REF } } };
  }
  return responses;
}

/** The OpenAPI 3.1 document of the HTTP surface, built from the route table and the zod schemas. */
export function buildOpenApi(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, doc] of Object.entries(ROUTE_DOCS)) {
    const [method, url] = key.split(' ');
    const path = url.replace(/:([a-z]+)/g, '{$1}');
    const operation: Record<string, unknown> = {
      operationId: `${method.toLowerCase()}${url.replace(/[/:.-]+(\w)/g, (_, c: string) => c.toUpperCase()) || 'Root'}`,
      summary: doc.summary,
      tags: [doc.tag],
      parameters: parametersOf(method, url, doc.query),
      responses: responsesOf(method, url, doc),
    };
    if (doc.open) operation.security = [];
    if (doc.body) operation.requestBody = { required: !doc.body.safeParse(undefined).success, content: { 'application/json': { schema: schemaOf(doc.body) } } };
    (paths[path] ??= {})[method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'bmo', version, description: 'The durable coordination ledger for agent work. Errors are `{error, message, field?}`; `error` is one of the codes below.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [{ name: 'teams' }, { name: 'sessions' }, { name: 'workstreams' }, { name: 'events' }, { name: 'operator' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'data/auth-token, BMO_TOKEN or [server] token; `?token=` on the WebSocket upgrade' } },
      schemas: {
        ErrorCode: {
          type: 'string',
          enum: Object.keys(ERROR_CODES),
          'x-bmo-status': ERROR_CODES,
          'x-bmo-not-over-http': NOT_OVER_HTTP,
        },
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: { error: { $ref: '#/components/schemas/ErrorCode' }, message: { type: 'string' }, field: { type: 'string' }, details: { type: 'object' } },
        },
        Envelope: schemaOf(EnvelopeSchema),
        Log: { type: 'object', properties: { stream: { type: 'string' }, events: { type: 'array', items: { $ref: '#/components/schemas/Envelope' } } } },
        CommandResult: {
          type: 'object',
          description: 'A write: the ids it made, the version and position it reached, and its events (ETag: the version).',
          required: ['events'],
          properties: { version: { type: 'integer' }, pos: { type: 'integer' }, events: { type: 'array', items: { $ref: '#/components/schemas/Envelope' } } },
          additionalProperties: true,
        },
      },
    },
  };
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(WEB_ROOT, '..', 'package.json'), 'utf8')) as { version: string }).version;

/**
 * `/openapi.json` (no token: it holds no data) and the Swagger UI over it at `/docs`. The document
 * is built on the first request for either, not at startup: building it costs a server (and every
 * CLI command that opens the data directory itself) a few hundred milliseconds of CPU.
 */
export async function openApiRoutes(app: FastifyInstance): Promise<void> {
  const document: Record<string, unknown> = {}; // the object the swagger plugin serves, filled in place
  const built = () => {
    if (!('openapi' in document)) Object.assign(document, buildOpenApi(PACKAGE_VERSION));
    return document;
  };
  // Loaded by the server that serves the docs, not by a CLI command that opens the data directory itself.
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiHooks: { onRequest: (_request, _reply, done) => (built(), done()) } });
  app.get('/openapi.json', async () => built());
}

/** `METHOD url` of every route registered on `app` from now on (HEAD and the page's files aside). */
export function collectRoutes(app: FastifyInstance): Set<string> {
  const seen = new Set<string>();
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) if (method !== 'HEAD') seen.add(`${method} ${route.url}`);
  });
  return seen;
}
