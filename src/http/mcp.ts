import { randomUUID } from 'node:crypto';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../../events/index.js';
import { BmoError } from '../errors.js';
import { principalOf } from './access.js';
import type { HttpCall } from '../mcp/server.js';
import type { Identity } from '../mcp/tools.js';
import type { Pipeline } from '../pipeline/pipeline.js';

/** MCP sessions held at once; the one idle longest goes to make room. */
const MAX_SESSIONS = 256;
/** An MCP session nobody used for this long is closed. */
const IDLE_MS = 30 * 60_000;

interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: Server;
  authorization: string | undefined;
  usedAt: number;
}

export interface McpRoutesOptions {
  pipeline: Pipeline;
  /** The app whose routes a tool call goes through (`inject`), so its answer is the HTTP API's. */
  root: FastifyInstance;
}

/**
 * `/mcp`: the same MCP server as `bmo mcp`, over Streamable HTTP, behind the `/v1` bearer check.
 * Identity comes from `X-Session-Id` and `X-Member-Id` on the request that initializes the session.
 */
export async function mcpRoutes(app: FastifyInstance, { pipeline, root }: McpRoutesOptions): Promise<void> {
  const sessions = new Map<string, McpSession>();
  const closeSession = (id: string) => {
    const session = sessions.get(id);
    sessions.delete(id);
    void session?.transport.close().catch(() => {});
  };
  const sweep = setInterval(() => {
    for (const [id, session] of sessions) if (Date.now() - session.usedAt > IDLE_MS) closeSession(id);
  }, 60_000);
  sweep.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweep);
    for (const id of [...sessions.keys()]) closeSession(id);
    done();
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = header(request, 'mcp-session-id');
    let session = id === undefined ? undefined : sessions.get(id);
    if (id !== undefined && !session) throw new BmoError('not_found', `no MCP session ${id} (it ended or bmo restarted): initialize a new one`, { field: 'Mcp-Session-Id' });
    if (session && session.authorization !== request.headers.authorization) throw new BmoError('forbidden', 'this MCP session was opened with another bearer token');
    if (!session) session = await openSession(request, sessions, closeSession, pipeline, root);
    session.usedAt = Date.now();
    reply.hijack();
    await session.transport.handleRequest(request.raw, reply.raw, request.body);
  };
  // POST carries JSON-RPC, GET opens the notification stream, DELETE ends the MCP session.
  app.route({ method: ['POST', 'GET', 'DELETE'], url: '/mcp', handler });
}

async function openSession(request: FastifyRequest, sessions: Map<string, McpSession>, closeSession: (id: string) => void, pipeline: Pipeline, root: FastifyInstance): Promise<McpSession> {
  if (sessions.size >= MAX_SESSIONS) {
    const [oldest] = [...sessions.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt)[0];
    closeSession(oldest);
  }
  const authorization = request.headers.authorization;
  const http: HttpCall = async (method, path, body, headers) => {
    const response = await root.inject({
      method: method as 'GET',
      url: path,
      headers: { ...(authorization ? { authorization } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, body: response.body };
  };
  // The MCP SDK is loaded by the first session, not by every server (nor every CLI command that opens the data directory).
  const [{ StreamableHTTPServerTransport }, { buildMcpServer }, { hubChanges }] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('../mcp/server.js'),
    import('../mcp/changes.js'),
  ]);
  const server = buildMcpServer({ http, identity: identityOf(request), url: 'this bmo serve', changes: hubChanges(pipeline.hub) });
  const session: McpSession = { server, authorization, usedAt: Date.now(), transport: undefined as unknown as StreamableHTTPServerTransport };
  session.transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    enableJsonResponse: true,
    onsessioninitialized: (id) => void sessions.set(id, session),
    onsessionclosed: (id) => void sessions.delete(id),
  });
  await server.connect(session.transport);
  return session;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Who an `/mcp` session acts as: an agent credential's member and session, else `X-Session-Id`, `X-Member-Id`, `X-Agent` on its first request. */
function identityOf(request: FastifyRequest): Identity {
  const identity: Identity = {};
  const principal = principalOf(request);
  if (principal.role === 'agent') return { member: principal.member_id, session: principal.session_id, agent: header(request, 'x-agent')?.slice(0, 200) };
  for (const [name, key] of [
    ['x-session-id', 'session'],
    ['x-member-id', 'member'],
  ] as const) {
    const value = header(request, name);
    if (value === undefined) continue;
    if (!ID_PATTERN.test(value)) throw new BmoError('invalid_id', `${name}: not an id (1-64 characters of a-z, 0-9 and "-")`, { field: name });
    identity[key] = value;
  }
  const agent = header(request, 'x-agent');
  if (agent !== undefined) identity.agent = agent.slice(0, 200);
  return identity;
}
