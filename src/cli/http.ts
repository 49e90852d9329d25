import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The CLI's HTTP client, on node:http: a CLI command is one short process, and `fetch` costs each
 * a quarter of a second of CPU to load before its first request (undici, compiled on first use).
 */
export interface HttpReply {
  status: number;
  text: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Given up (an `UnreachableError`, code `ETIMEDOUT`) when no whole answer came within this long. */
  timeoutMs?: number;
}

/** Nothing answered at the URL, or the connection broke before the whole answer came. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  /** The system's code: ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, … */
  readonly code: string;

  constructor(cause: NodeJS.ErrnoException) {
    super(cause.message, { cause });
    this.code = cause.code ?? 'ECONNRESET';
  }
}

/** One request; resolves with the status and the body's text, rejects with an `UnreachableError`. */
export function sendHttp(url: string, options: HttpOptions = {}): Promise<HttpReply> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers = { ...options.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut: NodeJS.ErrnoException | undefined;
    const done = (reply: HttpReply) => (clearTimeout(timer), resolve(reply));
    // Once timed out, whatever broke off says so (not a reset, which a write would be sent again for).
    const fail = (error: NodeJS.ErrnoException) => (clearTimeout(timer), reject(new UnreachableError(timedOut ?? error)));
    const req = request(target, { method: options.method ?? 'GET', headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
      res.on('aborted', () => fail(Object.assign(new Error('the connection closed before the whole answer came'), { code: 'ECONNRESET' })));
    });
    req.on('error', fail);
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => req.destroy((timedOut = Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }))), options.timeoutMs);
    }
    req.end(body);
  });
}
