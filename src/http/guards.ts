import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import { BmoError } from '../errors.js';
import { errorBody } from './errors.js';

/** The names this server answers to when a browser (a request with `Origin`) calls: its own, loopback, and `[server] allowed_hosts`. */
export function serverNames(server: Config['server']): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', ...server.allowed_hosts.map((host) => host.toLowerCase())]);
  names.add(bracketed(server.host.toLowerCase()));
  if (server.url) names.add(new URL(server.url).hostname.toLowerCase());
  return names;
}

const bracketed = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** The host name of a Host header, without its port: `[::1]:7777` → `[::1]`. */
function hostName(host: string): string {
  const match = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(host.trim().toLowerCase());
  return match ? match[1] : host;
}

/**
 * DNS rebinding: a page on evil.example that resolves its name to 127.0.0.1 sends `Host:
 * evil.example` and its own matching `Origin`; a request carrying an `Origin` is served only for
 * a `Host` that is one of the server's names.
 */
export function checkHost(origin: string | undefined, host: string | undefined, names: Set<string>): void {
  if (origin === undefined) return;
  const name = hostName(host ?? '');
  if (names.has(name)) return;
  throw new BmoError('forbidden', `Host ${name.slice(0, 80) || '(none)'} is not one of this server's names; add it to [server] allowed_hosts in bmo.toml`, { field: 'Host' });
}

/** Browsers send Origin: a cross-origin upgrade is refused unless [server] allowed_origins lists it. */
export function checkOrigin(origin: string | undefined, host: string | undefined, allowed: string[]): void {
  if (!origin || allowed.includes('*') || allowed.includes(origin)) return;
  try {
    if (new URL(origin).host === host) return;
  } catch {
    /* not a URL: refused below */
  }
  throw new BmoError('forbidden', `cross-origin WebSocket from ${origin} refused; add it to [server] allowed_origins in bmo.toml`);
}

/**
 * A connection's fault before a route ran (a body not complete within request_timeout_ms, headers
 * over max_header_bytes, bytes that are not HTTP) is answered in bmo's words, then the socket closed.
 */
export function clientErrorHandler(server: Config['server']) {
  return function (this: { log: FastifyBaseLogger }, error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let bmo = new BmoError('bad_request', 'the request is not valid HTTP');
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      bmo = new BmoError('request_timeout', `the request was not complete within ${server.request_timeout_ms} ms ([server] request_timeout_ms); send the whole body at once`);
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      bmo = new BmoError('headers_too_large', `the request headers are over ${server.max_header_bytes} bytes ([server] max_header_bytes)`);
    }
    this.log.warn({ code: error.code, status }, 'a client request was refused before routing');
    // Unless this request's answer had begun: then there is nothing left to say but to close.
    const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (socket.writable && !started) {
      const body = JSON.stringify(errorBody(bmo));
      socket.write(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
