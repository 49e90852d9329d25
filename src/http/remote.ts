import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RemoteFailureKind } from '../../events/index.js';
import { remoteEntity } from '../domain/remote.js';
import { BmoError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { chipOf, type PostureSnapshot } from '../../projections/posture.js';
import type { RecentEvent } from '../../projections/recent.js';
import { REMOTE_STREAM_ID } from '../../projections/remote.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { recordFailedCleanup } from '../pipeline/operations.js';
import { commandContext, invocationIdOf, parseWith, sendCommandResult } from './request.js';
import { Cleanup } from './schemas.js';
import { cleanupTarget } from './teams.js';

export interface RemoteOptions {
  pipeline: Pipeline;
  /** The remote bmo's base URL; only its host is ever written down or shown. */
  serverUrl: string;
  host: string;
  token: string;
  timeoutMs: number;
}

/** Headers that travel with a forwarded team operation; Authorization is replaced by the remote token. */
const FORWARDED_HEADERS = ['content-type', 'accept', 'if-match', 'idempotency-key', 'x-invocation-id', 'x-session-id'];

export interface RemoteAnswer {
  status: number;
  contentType: string;
  body: Buffer | Readable;
}

class RemoteFailure extends Error {
  constructor(
    readonly kind: RemoteFailureKind,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * Sends team operations to the remote teams server and keeps score of its health in `system/remote`.
 * One attempt per operation: a failure fails to the caller with a clear error, never retried.
 */
export class RemoteTeams {
  constructor(private readonly options: RemoteOptions) {}

  get host(): string {
    return this.options.host;
  }

  async forward(request: FastifyRequest): Promise<RemoteAnswer> {
    const { pipeline } = this.options;
    const operation = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, 'x-invocation-id': invocationIdOf(request) };
    for (const name of FORWARDED_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const hasBody = request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD';
    if (hasBody) headers['content-type'] = 'application/json';
    let answer: RemoteAnswer;
    try {
      answer = await this.send(request.method, request.url, headers, hasBody ? JSON.stringify(request.body) : undefined);
    } catch (error) {
      if (!(error instanceof RemoteFailure)) throw error;
      const events = await pipeline.execute(remoteEntity, REMOTE_STREAM_ID, { type: 'record_failure', host: this.host, kind: error.kind, operation: operation.slice(0, 100) }, { invocationId: invocationIdOf(request) });
      const consecutive = pipeline.readModels.remote.consecutive_failures;
      const degraded = pipeline.readModels.remote.degraded;
      const code: ErrorCode = error.kind === 'timeout' ? 'remote_timeout' : error.kind === 'auth' ? 'remote_unauthorized' : 'remote_failed';
      throw new BmoError(code, `the remote teams server ${this.host} ${error.detail} (not retried; ${consecutive} consecutive failure(s)${degraded ? ', remote is degraded' : ''})`, {
        details: { host: this.host, kind: error.kind, consecutive_failures: consecutive, degraded, recorded_pos: events.at(-1)?.pos },
      });
    }
    await pipeline.execute(remoteEntity, REMOTE_STREAM_ID, { type: 'record_success', host: this.host }, { invocationId: invocationIdOf(request) });
    return answer;
  }

  /** One HTTP exchange with the remote, its failures sorted into kinds; never the URL beyond the host. */
  private async send(method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<RemoteAnswer> {
    let response: Response;
    // As AbortSignal.timeout does (the whole exchange, a streamed body too), but on the pipeline's clock, which a test moves.
    const deadline = new AbortController();
    this.options.pipeline.clock.after(this.options.timeoutMs, () => deadline.abort(new DOMException('the remote did not answer in time', 'TimeoutError')), { unref: true });
    try {
      response = await fetch(`${this.options.serverUrl.replace(/\/$/, '')}${path}`, { method, headers, body, signal: deadline.signal });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new RemoteFailure('timeout', `did not answer within ${this.options.timeoutMs} ms`);
      const code = ((error as Error & { cause?: { code?: string } }).cause?.code ?? '') as string;
      if (DNS_CODES.has(code)) throw new RemoteFailure('dns', `has a name that does not resolve (${code}); check [options.teams] server_url`);
      throw new RemoteFailure('refused', `could not be reached${code ? ` (${code})` : ''}`);
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RemoteFailure('auth', `refused our token (HTTP ${response.status}); set [options.teams] token (or BMO_TEAMS_TOKEN) to the remote's token`);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new RemoteFailure('5xx', `failed with HTTP ${response.status}`);
    }
    if (contentType.includes('application/x-ndjson') && response.body) {
      return { status: response.status, contentType, body: Readable.fromWeb(response.body as never) };
    }
    let buffer: Buffer;
    try {
      buffer = Buffer.from(await response.arrayBuffer());
    } catch {
      throw new RemoteFailure('bad_response', 'broke off its answer');
    }
    if (!contentType.includes('application/json')) throw new RemoteFailure('bad_response', `answered with ${contentType || 'no content type'}, not JSON${NOT_BMO_HINT}`);
    let json: unknown;
    try {
      json = JSON.parse(buffer.toString('utf8'));
    } catch {
      throw new RemoteFailure('bad_response', `answered with a body that is not JSON${NOT_BMO_HINT}`);
    }
    const wrong = notBmos(response.status, json, `${method} ${path}`);
    if (wrong) throw new RemoteFailure('bad_response', `${wrong}${NOT_BMO_HINT}`);
    return { status: response.status, contentType, body: buffer };
  }
}

const NOT_BMO_HINT = '; is [options.teams] server_url a bmo, with no path after the host?';
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']);

/** The fields a bmo answer on these routes always has: another server's JSON lacks them. */
const EXPECTED_FIELDS: [RegExp, string[]][] = [
  [/^GET \/v1\/teams\/posture(\?|$)/, ['team_count', 'teams', 'recent']],
  [/^GET \/v1\/teams\/events\/recent(\?|$)/, ['events']],
  [/^GET \/v1\/teams(\?|$)/, ['teams']],
];

/**
 * Why a JSON answer is not bmo's (undefined when it is): an error without bmo's `{error, message}`
 * (a 404 from a wrong path), or a success that is not an object with the route's fields.
 */
function notBmos(status: number, json: unknown, request: string): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return `answered HTTP ${status} with JSON that is not an object`;
  const body = json as Record<string, unknown>;
  if (status >= 400) return typeof body.error === 'string' && body.error in ERROR_CODES && typeof body.message === 'string' ? undefined : `answered HTTP ${status} without bmo's error body`;
  const fields = EXPECTED_FIELDS.find(([pattern]) => pattern.test(request))?.[1] ?? [];
  const missing = fields.filter((field) => !(field in body));
  return missing.length ? `answered without ${missing.join(', ')}` : undefined;
}

export function sendRemoteAnswer(reply: FastifyReply, answer: RemoteAnswer): FastifyReply {
  return reply.code(answer.status).type(answer.contentType).send(answer.body);
}

/** With `server_url` set, every team and session operation goes to the remote teams server. */
export async function remoteTeamRoutes(app: FastifyInstance, { remote, pipeline }: { remote: RemoteTeams; pipeline: Pipeline }): Promise<void> {
  const forward = async (request: FastifyRequest, reply: FastifyReply) => sendRemoteAnswer(reply, await remote.forward(request));
  // A cleanup the remote never answered is still an attempt: audited here (removed=0, outcome remote_failed).
  app.post('/v1/teams/cleanup', async (request, reply) => {
    const target = cleanupTarget(parseWith(Cleanup, request.body));
    try {
      return sendRemoteAnswer(reply, await remote.forward(request));
    } catch (error) {
      if (error instanceof BmoError && error.code.startsWith('remote_')) await recordFailedCleanup(pipeline, target, commandContext(request));
      throw error;
    }
  });
  for (const url of ['/v1/teams', '/v1/teams/*', '/v1/sessions', '/v1/sessions/*']) {
    app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url, handler: forward });
  }
}

/** The remote's health as this instance saw it, and the operator's reset (an appended event). */
export async function remoteHealthRoutes(app: FastifyInstance, { pipeline, host }: { pipeline: Pipeline; host?: string }): Promise<void> {
  app.get('/v1/teams/remote', async () => ({ configured: host !== undefined, ...pipeline.readModels.remote, host: host ?? pipeline.readModels.remote.host }));
  app.post('/v1/teams/remote/reset', async (request, reply) => {
    const target = host ?? pipeline.readModels.remote.host;
    if (!target) throw new BmoError('not_found', 'no remote teams server is configured ([options.teams] server_url) and none was ever recorded');
    const events = await pipeline.execute(remoteEntity, REMOTE_STREAM_ID, { type: 'reset', host: target }, commandContext(request));
    return sendCommandResult(reply, 200, events, { host: target, degraded: pipeline.readModels.remote.degraded, consecutive_failures: pipeline.readModels.remote.consecutive_failures });
  });
}

/** The remote's answer as JSON, or why there is none (its failure is already recorded by forward). */
async function remoteJson(remote: RemoteTeams, request: FastifyRequest): Promise<{ json?: any; error?: string }> {
  try {
    const answer = await remote.forward(request);
    const json = JSON.parse((answer.body as Buffer).toString('utf8'));
    return answer.status === 200 ? { json } : { error: json?.message ?? `HTTP ${answer.status}` };
  } catch (error) {
    if (!(error instanceof BmoError)) throw error;
    return { error: error.message };
  }
}

/** This instance's ring and the remote's, merged by time; each of the remote's events names its host. */
function mergeRecent(own: RecentEvent[], theirs: RecentEvent[] | undefined, host: string, limit: number): RecentEvent[] {
  const marked = (theirs ?? []).map((event) => ({ ...event, remote: host }));
  return [...marked, ...own].sort((a, b) => a.at.localeCompare(b.at)).slice(-limit);
}

/**
 * The posture with a remote: the remote's teams and counts, under this instance's own config and
 * remote health; when the remote fails, this instance's own snapshot and the reason.
 */
export async function remotePosture(remote: RemoteTeams, request: FastifyRequest, local: () => PostureSnapshot) {
  const { json: theirs, error } = await remoteJson(remote, request);
  const own = local();
  if (!theirs) return { ...own, remote_error: error };
  const recent = mergeRecent(own.recent, theirs.recent, remote.host, 16);
  return {
    ...theirs,
    pos: own.pos,
    remote_pos: theirs.pos,
    config: own.config,
    remote_degraded: own.remote_degraded,
    remote: own.remote,
    recent,
    chip: chipOf(theirs.active_count ?? 0, theirs.blocked_count ?? 0, recent, own.remote),
  };
}

/** `list_recent_team_events` on a forwarding server: the remote's team events merged into this instance's ring. */
export async function remoteRecent(remote: RemoteTeams, request: FastifyRequest, own: RecentEvent[], limit: number) {
  const { json: theirs, error } = await remoteJson(remote, request);
  return { events: mergeRecent(own, theirs?.events, remote.host, limit), remote_pos: theirs?.pos, remote_error: error };
}
