import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bmo } from '../app.js';
import { resolveToken } from '../auth-token.js';
import type { Config } from '../config/config.js';
import { BmoError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { sendHttp, UnreachableError } from './http.js';
import { cliWords } from './routes.js';


export interface Reply {
  status: number;
  json: any;
}

/** How the CLI reaches bmo: the running server over HTTP, or the data directory opened in-process. */
export interface Connection {
  mode: 'server' | 'local';
  url: string;
  token: string;
  /** In local mode: the opened bmo (store, pipeline); undefined when talking to a server. */
  local?: Bmo;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export function serverUrl(config: Config): string {
  if (config.server.url) return config.server.url.replace(/\/$/, '');
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
}

/**
 * How long a server that took the connection may take to answer /healthz. Nothing listening is
 * known at once (the connection is refused); only a server that is there, but busy, is waited for.
 */
const HEALTHZ_TIMEOUT_MS = 10_000;

export async function reachable(url: string): Promise<boolean> {
  try {
    const reply = await sendHttp(`${url}/healthz`, { timeoutMs: HEALTHZ_TIMEOUT_MS });
    return reply.status >= 200 && reply.status < 300;
  } catch {
    return false;
  }
}

/**
 * Talks to the running server; when none answers, opens the data directory itself under the same
 * single-writer lock and answers through the same routes (fastify `inject`) — unless the server was
 * named (`--url`, `BMO_URL`, `[server] url`): then its silence is an error.
 */
export interface ConnectOptions {
  logger?: Logger;
  /** What the LOCK names while this CLI holds the data directory, e.g. `bmo workstream finding`. */
  role?: string;
  /** How long to wait for another CLI command to let go of the data directory (default 10 s). */
  waitMs?: number;
}

export async function connect(config: Config, options: ConnectOptions = {}): Promise<Connection> {
  const url = serverUrl(config);
  const invocation = randomUUID();
  if (await reachable(url)) {
    const token = resolveToken(config.server.token, config.server.data_dir, false);
    if (!token) {
      throw new BmoError('unauthorized', `bmo answers at ${url} but no token was found: set BMO_TOKEN, [server] token, or run where ${config.server.data_dir}/auth-token is readable`);
    }
    return {
      mode: 'server',
      url,
      token,
      async request(method, path, body, headers = {}) {
        const keyed = withKey(method, path, headers);
        const send = async (): Promise<Reply> => {
          const { status, text } = await sendHttp(`${url}${path}`, {
            method,
            headers: { authorization: `Bearer ${token}`, 'x-invocation-id': invocation, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...keyed },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status, json: text ? safeJson(text) : undefined };
        };
        return retriedOnce(keyed, send);
      },
      async close() {},
    };
  }
  if (config.server.url) {
    // A server named outright is the one meant: this directory's data is another store, not a stand-in.
    throw new BmoError('store_unavailable', `no bmo answers at ${url} (named by --url, BMO_URL or [server] url): start it there, or leave the url unset to open ${config.server.data_dir} here`);
  }
  const local = await openLocal(config, url, options);
  return {
    mode: 'local',
    url,
    token: local.token,
    local,
    async request(method, path, body, headers = {}) {
      const response = await local.server.inject({
        method: method as 'GET',
        url: path,
        headers: { authorization: `Bearer ${local.token}`, 'x-invocation-id': invocation, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...withKey(method, path, headers) },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.statusCode, json: response.body ? safeJson(response.body) : undefined };
    },
    close: () => local.close(),
  };
}

/**
 * Opens the data directory here. Another CLI command holding it is waited for (it lets go within
 * moments: the server is built before the directory is taken), up to `waitMs`; a server holding
 * it is said at once, since it does not let go.
 */
async function openLocal(config: Config, url: string, options: ConnectOptions): Promise<Bmo> {
  const waitMs = options.waitMs ?? 10_000;
  // Counted from the first refusal: loading and building the server here is not waiting.
  let deadline: number | undefined;
  let pause = 5;
  const logger = options.logger ?? (await cliLogger());
  // Loaded here only: a CLI that talks to a server starts without the server's modules.
  const { startBmo } = await import('../app.js');
  return startBmo({
    config,
    logger,
    listen: false,
    apiOnly: true,
    role: options.role ?? 'bmo (a CLI command)',
    async whileLocked(error) {
      const server = error.holder.startsWith('bmo serve');
      deadline ??= Date.now() + waitMs;
      if (server || Date.now() >= deadline) {
        const waited = server ? '' : ` It did not let go within ${waitMs / 1000} s: run the command again, or wait longer with --wait <seconds>.`;
        const elsewhere = server ? ' Is the server listening elsewhere? Set [server] url or BMO_URL.' : '';
        throw new BmoError('store_unavailable', `no bmo answers at ${url}, and ${error.message.replace(/^the data directory/, 'its data directory').replace(/; stop that bmo first.*$/, '.')}${waited}${elsewhere}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 100);
    },
  });
}

/** The log of a CLI command that opens the store itself: warnings and worse (BMO_LOG_LEVEL) on stderr. */
export async function cliLogger(): Promise<Logger> {
  // Loaded here only: a CLI command that talks to a server logs nothing and starts without pino.
  const { default: pino } = await import('pino');
  return pino({ level: process.env.BMO_LOG_LEVEL ?? 'warn' }, pino.destination(2));
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Issuing a credential shows its token once: it takes no key and is never sent twice. */
const UNKEYED = /^\/v1\/credentials(?:\?|$)/;

/** Every write carries an Idempotency-Key (the caller's, or a new one), so that it can be sent again safely. */
export function withKey(method: string, path: string, headers: Record<string, string>): Record<string, string> {
  if (!WRITES.has(method.toUpperCase()) || UNKEYED.test(path) || Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key')) return headers;
  return { ...headers, 'idempotency-key': randomUUID() };
}

/**
 * A write whose outcome is unknown (503, or the connection reset before an answer) is sent once
 * more with the same key: the server answers what it did the first time, or does it now.
 */
export async function retriedOnce<R extends { status: number }>(headers: Record<string, string>, send: () => Promise<R>): Promise<R> {
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key')) return send();
  try {
    const reply = await send();
    if (reply.status !== 503) return reply;
  } catch (error) {
    if (!isReset(error)) throw error;
  }
  return send();
}

/** A connection that closed or reset before the answer came. */
function isReset(error: unknown): boolean {
  return error instanceof UnreachableError && ['ECONNRESET', 'EPIPE'].includes(error.code);
}

/** The parsed JSON of a body, or the text itself when it is not JSON. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A non-2xx answer as the error the CLI reports (and the exit code it maps to), in the CLI's words. */
export function ensureOk(reply: Reply): any {
  if (reply.status < 400) return reply.json;
  const code = (reply.json?.error as ErrorCode) in ERROR_CODES ? (reply.json.error as ErrorCode) : 'internal';
  throw new BmoError(code, cliWords(reply.json?.message ?? `HTTP ${reply.status}`, reply.json?.field), { field: reply.json?.field, details: reply.json?.details });
}

/** Every item of a paged collection (`field` of each page): follows `next_cursor`, a thousand at a time. */
export async function requestAll(connection: Connection, path: string, field: string): Promise<any> {
  const page = (cursor?: string) => `${path}${path.includes('?') ? '&' : '?'}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  let body = ensureOk(await connection.request('GET', page()));
  const items: unknown[] = [...body[field]];
  while (body.next_cursor) {
    body = ensureOk(await connection.request('GET', page(body.next_cursor)));
    items.push(...body[field]);
  }
  return { ...body, [field]: items };
}
