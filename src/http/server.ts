import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { scopedPosture, type PostureSnapshot } from '../../projections/posture.js';
import { listRecentTeamEvents } from '../../projections/recent.js';
import { hostOnly, type Config } from '../config/config.js';
import { BmoError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { checkAccess, principalOf, teamAllowed } from './access.js';
import { authenticate } from './auth.js';
import { credentialRoutes } from './credentials.js';
import { registerRateLimits } from './rate-limit.js';
import { checkHost, checkOrigin, clientErrorHandler, serverNames } from './guards.js';
import { answerError, registerErrorHandler } from './errors.js';
import { eventsSinceRoute, logRoute } from './events.js';
import { mcpRoutes } from './mcp.js';
import { AsOfOnly, asOfOf, invocationIdOf, parseWith } from './request.js';
import { RecentQuery } from './schemas.js';
import type { ReadModels } from '../pipeline/read-models.js';
import { createdTeamIds, idHash, teamsTelemetry, type TeamsTelemetry } from '../telemetry/teams.js';
import { lazyChild, perRequestChild } from '../telemetry/logger.js';
import { Metrics } from '../telemetry/metrics.js';
import { streamRoutes } from './stream.js';
import { remoteHealthRoutes, remotePosture, remoteRecent, remoteTeamRoutes, RemoteTeams } from './remote.js';
import { collectRoutes, openApiRoutes } from './openapi.js';
import { pageRoutes } from './page.js';
import { sessionRoutes } from './sessions.js';
import { teamRoutes } from './teams.js';
import { workstreamRoutes } from './workstreams.js';

export interface ServerDeps {
  pipeline: Pipeline;
  config: Config;
  token: string;
  logger: Logger;
  /** The one posture snapshot every surface reads; given past models, the posture as it was then. */
  posture: (past?: { models: ReadModels; now: Date }) => PostureSnapshot;
  telemetry?: TeamsTelemetry;
  metrics?: Metrics;
  /** Only /healthz, /metrics and the /v1 routes a CLI command calls: no page, docs, stream or MCP (and their modules not loaded). */
  apiOnly?: boolean;
}

/** Builds the HTTP and WebSocket app; it never listens, so tests drive it with `inject`. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const { pipeline, config } = deps;
  const app = createApp(deps);
  // Before any route: the OpenAPI test holds the document against every route registered.
  app.decorate('bmoRoutes', collectRoutes(app));
  registerErrorHandler(app);
  registerJsonBodies(app);
  const telemetry = deps.telemetry ?? teamsTelemetry(deps.logger);
  const metrics = deps.metrics ?? new Metrics();
  registerRequestLog(app, metrics, telemetry, deps.logger);
  registerHostCheck(app, config);

  app.get('/healthz', async () => {
    const readOnly = pipeline.store.readOnlyReason?.();
    return readOnly ? { ok: true, pos: pipeline.store.head(), read_only: readOnly } : { ok: true, pos: pipeline.store.head() };
  });

  if (!deps.apiOnly) void app.register(pageRoutes);
  if (!deps.apiOnly) void app.register(openApiRoutes);

  app.get('/metrics', async (request, reply) => {
    if (!(config.metrics.public_on_loopback && isLoopback(request.socket.remoteAddress))) {
      const principal = authenticate(deps.token, request, pipeline.readModels.credentials, pipeline.now());
      if (principal.role === 'agent') throw new BmoError('forbidden', 'an agent credential cannot read /metrics: use an observer or admin token', { field: 'Authorization' });
    }
    return reply.type(metrics.contentType).send(await metrics.text());
  });

  if (!deps.apiOnly) registerWebSocket(app, config);
  app.decorateRequest('principal', null as never);
  void app.register(v1Routes, { deps, metrics, telemetry, root: app });
  return app;
}

/** The fastify instance with bmo's limits and timeouts; no route, no hook. */
function createApp({ config, logger }: ServerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    childLoggerFactory: (parent, bindings, options) => lazyChild(parent as Logger, bindings, options) as FastifyBaseLogger,
    bodyLimit: config.server.body_limit,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    requestTimeout: config.server.request_timeout_ms,
    connectionTimeout: config.server.connection_timeout_ms,
    keepAliveTimeout: config.server.keep_alive_timeout_ms,
    // Node checks for overdue requests on this interval: a tenth of the timeout, within 100 ms to 1 s.
    http: {
      maxHeaderSize: config.server.max_header_bytes,
      headersTimeout: Math.min(60_000, config.server.request_timeout_ms),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.server.request_timeout_ms / 10)),
    },
    clientErrorHandler: clientErrorHandler(config.server),
    // Router refusals (a path segment over maxParamLength, a bad %-escape) go through the one error handler too.
    frameworkErrors: answerError,
    // Requests are parsed with zod (request.ts), so no route has a JSON schema to compile: fastify's
    // ajv and fast-json-stringify compilers are never loaded (about 50 ms of CPU every start).
    schemaController: { compilersFactory: { buildValidator: () => noSchemaCompiler, buildSerializer: () => noSchemaCompiler } },
  });
  return app;
}

/** Any route that did declare a JSON schema to validate or serialize with fails at startup, saying why. */
function noSchemaCompiler(): never {
  throw new Error('a route declares a JSON schema to compile: bmo parses requests with zod (src/http/request.ts) and does not load fastify\'s schema compilers');
}

function registerJsonBodies(app: FastifyInstance): void {
  // JSON only: a text/plain body is refused as such (415), not parsed as a string and refused for its type.
  app.removeContentTypeParser('text/plain');
  // An empty body sent as JSON is no body (many clients set the header on every request): a route
  // whose body is optional (a heartbeat, leaving a team) takes it, one that needs a body says it is empty.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => (body === '' ? done(null, undefined) : json(request, body as string, done)));
}

function registerRequestLog(app: FastifyInstance, metrics: Metrics, telemetry: TeamsTelemetry, logger: Logger): void {
  const requestLog = perRequestChild(logger, { component: 'http' });
  // One line per request, by route pattern: ids, names and tokens in URLs stay out of the log.
  // Callback-style hooks: no promise per request for work that never waits.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '(no route)';
    metrics.request(request.method, route, reply.statusCode);
    if (requestLog.isLevelEnabled('info')) {
      requestLog.info({ reqId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime), invocation_id: invocationIdOf(request), actor_hash: idHash(request.principal?.credential_id) }, 'request');
    }
    // A read that failed still did something worth joining: a forwarded GET records remote_failed.
    if (route.startsWith('/v1/teams') && (request.method !== 'GET' || reply.statusCode >= 500)) {
      telemetry.fired({
        invocation_id: invocationIdOf(request),
        lifecycle: `${request.method} ${route}`,
        outcome: reply.statusCode < 400 ? 'ok' : reply.statusCode < 500 ? 'refused' : 'failed',
        status: reply.statusCode,
        ...firedSubject(request),
        actor: request.principal?.credential_id,
      });
    }
    done();
  });
}

function registerHostCheck(app: FastifyInstance, config: Config): void {
  const names = serverNames(config.server);
  // preParsing, not onRequest: the WebSocket plugin's own onRequest must have marked an upgrade, so that a refused one is closed.
  app.addHook('preParsing', (request, _reply, _payload, done) => {
    try {
      checkHost(request.headers.origin, request.headers.host, names);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
}

function registerWebSocket(app: FastifyInstance, config: Config): void {
  // The plugin's own preClose would close every socket first with no code; stream.ts closes them with 4001 and where to resume.
  void app.register(import('@fastify/websocket'), {
    options: { maxPayload: config.stream.max_payload_bytes },
    preClose: (done) => done(),
    // A client's fault (a frame over max_payload_bytes, a malformed frame, a reset) is a warning, not a server error.
    errorHandler: (error, socket, request) => {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code.startsWith('WS_ERR_') || code === 'ECONNRESET' || code === 'EPIPE') request.log.warn({ code, reason: error.message }, 'a WebSocket client broke the protocol or went away; its connection is closed');
      else request.log.error({ err: error }, 'a WebSocket connection failed');
      socket.terminate();
    },
  });
}

interface V1Options {
  deps: ServerDeps;
  metrics: Metrics;
  telemetry: TeamsTelemetry;
  /** The app itself: the MCP route injects its calls there. */
  root: FastifyInstance;
}

/** Everything under /v1: guarded (who calls, and may they), then each route group as a plugin. */
async function v1Routes(v1: FastifyInstance, { deps, metrics, telemetry, root }: V1Options): Promise<void> {
  const { pipeline, config } = deps;
  await guardV1(v1, deps);
  await v1.register(credentialRoutes, { pipeline });
  const remoteHost = hostOnly(config.options.teams.server_url);
  const remote =
    config.options.teams.server_url && remoteHost
      ? new RemoteTeams({ pipeline, serverUrl: config.options.teams.server_url, host: remoteHost, token: config.options.teams.token ?? deps.token, timeoutMs: config.options.teams.timeout_ms })
      : undefined;
  const postureFor = postureRoutes(v1, deps, remote);
  await v1.register(remoteHealthRoutes, { pipeline, host: remoteHost });
  if (remote) {
    await v1.register(remoteTeamRoutes, { remote, pipeline });
  } else {
    await v1.register(teamRoutes, { pipeline });
    await v1.register(sessionRoutes, { pipeline, defaultLeaseMs: config.sessions.lease_ms, telemetry });
  }
  const teamExists = remote ? undefined : (teamId: string) => pipeline.readModels.teams.get(teamId)?.status !== undefined && pipeline.readModels.teams.get(teamId)?.status !== 'removed';
  await v1.register(workstreamRoutes, { pipeline, teamExists });
  // The store-wide logs: system/cleanup (every cleanup's audit), system/remote (the remote's health).
  logRoute(v1, pipeline, 'system', 'system log');
  eventsSinceRoute(v1, pipeline);
  if (deps.apiOnly) return;
  await v1.register(mcpRoutes, { pipeline, root });
  await v1.register(streamRoutes, {
    pipeline,
    posture: postureFor,
    pingIntervalMs: config.stream.ping_interval_ms,
    maxBufferedBytes: config.stream.max_buffered_bytes,
    stallMs: config.stream.stall_ms,
    observer: metrics.stream,
    maxFramesPerSecond: config.stream.max_frames_per_second,
  });
}

/** `/v1/teams/posture` and `/v1/teams/events/recent` (here, or from the remote teams server); answers the scoped posture the stream also sends. */
function postureRoutes(v1: FastifyInstance, deps: ServerDeps, remote: RemoteTeams | undefined): (request: FastifyRequest, snapshot?: PostureSnapshot) => PostureSnapshot {
  const { pipeline } = deps;
  /** The one snapshot (or a past one), as the caller's scope lets it see it. */
  const postureFor = (request: FastifyRequest, snapshot = deps.posture()) => {
    const principal = principalOf(request);
    return principal.role === 'admin' ? snapshot : scopedPosture(snapshot, (teamId) => teamAllowed(pipeline.readModels, principal, teamId));
  };
  v1.get('/v1/teams/posture', async (request) => {
    parseWith(AsOfOnly, request.query, 'query');
    if (remote) return remotePosture(remote, request, () => postureFor(request));
    const asOf = asOfOf(request, pipeline);
    if (!asOf) return postureFor(request);
    // Liveness judged at the time the log reached the point, as the live posture was then.
    const { models, at } = await pipeline.modelsAsOf.get(asOf);
    return postureFor(request, deps.posture({ models, now: 'time' in asOf ? new Date(asOf.time) : new Date(at ?? 0) }));
  });
  v1.get('/v1/teams/events/recent', async (request) => {
    const { limit } = parseWith(RecentQuery, request.query, 'query');
    const principal = principalOf(request);
    const ring = principal.role === 'admin' ? pipeline.readModels.recent : pipeline.readModels.recent.filter((e) => e.team_id !== undefined && teamAllowed(pipeline.readModels, principal, e.team_id));
    const own = listRecentTeamEvents(ring, limit);
    return { pos: pipeline.readModels.pos, ...(remote ? await remoteRecent(remote, request, own, limit) : { events: own }) };
  });
  return postureFor;
}

/**
 * The team and session a team request concerns, for their hashes on `teams.fired`: from the path,
 * else the body (a create's `id` or the id it was given, a single cleanup's `team_id`, a lead's or
 * claim's `session_id`), the session else from `X-Session-Id`.
 */
function firedSubject(request: FastifyRequest): { team_id?: string; session_id?: string } {
  const params = request.params as Record<string, string> | undefined;
  const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, any>;
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const isCreate = request.method === 'POST' && request.routeOptions.url === '/v1/teams';
  const teamId = str(params?.id) ?? (isCreate ? (str(body.id) ?? createdTeamIds.get(request)) : str(body.team_id));
  const sessionId = str(request.headers['x-session-id']) ?? str(body.session_id) ?? str(body.lead?.session_id);
  return { team_id: teamId, session_id: sessionId };
}

/** A peer on this machine: 127.0.0.0/8 or ::1 (also as an IPv4-mapped address). */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Who calls, and may they: the caller resolved once from its bearer token (every rule and every
 * event's meta.actor read it), its request budget, then the object-level rules once the body is
 * parsed and before any route decides, so that a refusal writes nothing.
 */
async function guardV1(v1: FastifyInstance, { token, pipeline, config }: ServerDeps): Promise<void> {
  v1.addHook('onRequest', (request, _reply, done) => {
    try {
      const isStream = request.url.startsWith('/v1/stream');
      request.principal = authenticate(token, request, pipeline.readModels.credentials, pipeline.now(), isStream);
      if (isStream) checkOrigin(request.headers.origin, request.headers.host, config.server.allowed_origins);
      if (request.url.startsWith('/v1/teams') && !config.options.teams.enabled) {
        throw new BmoError('teams_disabled', 'teams are disabled: set [options.teams] enabled = true in bmo.toml and restart bmo');
      }
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
  await registerRateLimits(v1, config.limits, pipeline.clock);
  v1.addHook('preHandler', (request, _reply, done) => {
    try {
      checkAccess(request, pipeline.readModels);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });
}
