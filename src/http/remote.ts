import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { remoteEntity, type RemoteFailureKind } from '../domain/remote.js';
import { BmoError, type ErrorCode } from '../errors.js';
import { chipOf, type PostureSnapshot } from '../../projections/posture.js';
import { REMOTE_STREAM_ID } from '../../projections/remote.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { commandContext, invocationIdOf, sendCommandResult } from './request.js';

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
    try {
      response = await fetch(`${this.options.serverUrl.replace(/\/$/, '')}${path}`, { method, headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new RemoteFailure('timeout', `did not answer within ${this.options.timeoutMs} ms`);
      const code = ((error as Error & { cause?: { code?: string } }).cause?.code ?? '') as string;
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
    if (!contentType.includes('application/json')) throw new RemoteFailure('bad_response', `answered with ${contentType || 'no content type'}, not JSON`);
    try {
      JSON.parse(buffer.toString('utf8'));
    } catch {
      throw new RemoteFailure('bad_response', 'answered with a body that is not JSON');
    }
    return { status: response.status, contentType, body: buffer };
  }
}

export function sendRemoteAnswer(reply: FastifyReply, answer: RemoteAnswer): FastifyReply {
  return reply.code(answer.status).type(answer.contentType).send(answer.body);
}

/** With `server_url` set, every team and session operation goes to the remote teams server. */
export async function remoteTeamRoutes(app: FastifyInstance, { remote }: { remote: RemoteTeams }): Promise<void> {
  const forward = async (request: FastifyRequest, reply: FastifyReply) => sendRemoteAnswer(reply, await remote.forward(request));
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

/**
 * The posture with a remote: the remote's teams and counts, under this instance's own config and
 * remote health; when the remote fails, this instance's own snapshot and the reason.
 */
export async function remotePosture(remote: RemoteTeams, request: FastifyRequest, local: () => PostureSnapshot) {
  let theirs: Partial<PostureSnapshot> | undefined;
  let remoteError: string | undefined;
  try {
    const answer = await remote.forward(request);
    const body = JSON.parse((answer.body as Buffer).toString('utf8'));
    if (answer.status === 200) theirs = body;
    else remoteError = body?.message ?? `HTTP ${answer.status}`;
  } catch (error) {
    if (!(error instanceof BmoError)) throw error;
    remoteError = error.message;
  }
  const own = local();
  if (!theirs) return { ...own, remote_error: remoteError };
  const recent = [...(theirs.recent ?? []), ...own.recent].sort((a, b) => a.at.localeCompare(b.at)).slice(-16);
  return { ...theirs, pos: own.pos, remote_pos: theirs.pos, config: own.config, remote_degraded: own.remote_degraded, remote: own.remote, recent, chip: chipOf(theirs.active_count ?? 0, theirs.blocked_count ?? 0, recent) };
}
