import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { BmoError, isBmoError } from '../errors.js';
import { errorBody, type ErrorBody } from '../http/errors.js';
import { parseWith } from '../http/request.js';
import type { ChangeFeed } from './changes.js';
import { mcpWords } from './words.js';
import { TOOLS, type Identity, type RouteCall, type ToolSpec } from './tools.js';

/** An HTTP answer as the MCP server needs it: the status and the body's text. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** The HTTP API: over the network (`bmo mcp`) or in-process (`/mcp` in `bmo serve`); either way the same routes. */
export type HttpCall = (method: string, path: string, body: unknown, headers: Record<string, string>) => Promise<HttpAnswer>;

export interface McpDeps {
  http: HttpCall;
  identity: Identity;
  /** Where bmo answers, for the message when it does not. */
  url: string;
  changes?: ChangeFeed;
  version?: string;
}

/** Resource-not-found, as the MCP specification numbers it. */
const RESOURCE_NOT_FOUND = -32002;
/** Changes are gathered this long, so that a burst of commits is one notification per resource. */
const NOTIFY_COALESCE_MS = 100;

const INSTRUCTIONS =
  'bmo is the shared ledger of a team of agents: create or join a team, claim ready tasks (keep the fencing token), complete them, and message each other. ' +
  'Your member id and session are filled in for you. events_since catches you up after you lose context.';

const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();
/** A tool's JSON Schema, from the zod schema its HTTP route parses with (computed once). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  let out = jsonSchemas.get(schema);
  if (!out) {
    out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
    delete out.$schema;
    jsonSchemas.set(schema, out);
  }
  return out;
}

/** The MCP server: every tool is one request to the HTTP API, so a refusal is the HTTP API's `{error, message, field}`. */
export function buildMcpServer(deps: McpDeps): Server {
  const server = new Server(
    { name: 'bmo', version: deps.version ?? '0.1.0' },
    { capabilities: { tools: {}, resources: { subscribe: true } }, instructions: INSTRUCTIONS },
  );
  const byName = new Map(TOOLS.map((tool) => [tool.name, tool]));
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: TOOLS.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: jsonSchema(tool.input, 'input'),
      outputSchema: jsonSchema(tool.output, 'output'),
      // Every other tool writes, and none destroys unless it says so.
      annotations: { readOnlyHint: false, destructiveHint: false, ...tool.hints },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = byName.get(request.params.name);
    if (!tool) return refusal({ error: 'not_found', message: `no tool ${request.params.name}; tools/list names them`, field: 'name' });
    return callTool(tool, request.params.arguments ?? {}, deps);
  });
  registerResources(server, deps);
  return server;
}

/** One tool call: parse the arguments with the route's schema, send the request, shape the answer. */
export async function callTool(tool: ToolSpec, args: unknown, deps: McpDeps): Promise<CallToolResult> {
  let answer: HttpAnswer;
  let parsed: Record<string, any>;
  let call: RouteCall;
  try {
    parsed = parseWith(tool.input, args);
    call = tool.route(parsed, deps.identity);
    answer = await send(deps, call);
  } catch (error) {
    if (isBmoError(error)) return refusal(mcpWords(errorBody(error), typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {}, deps.identity.member));
    return refusal({ error: 'store_unavailable', message: `bmo did not answer at ${deps.url} (${(error as Error).message}): start it with \`bmo serve\`, then call ${tool.name} again` });
  }
  const json = call.text && answer.status < 400 ? answer.body : parseBody(answer);
  if (answer.status >= 400) return refusal(isErrorBody(json) ? mcpWords(json, parsed, deps.identity.member) : { error: 'internal', message: `HTTP ${answer.status} from bmo: ${answer.body.slice(0, 500)}` });
  const structured = tool.shape ? tool.shape(json, parsed) : call.method === 'GET' ? (json as Record<string, unknown>) : lean(json as Record<string, unknown>);
  const member = tool.becomes?.(structured);
  if (deps.identity.member === undefined && member !== undefined) deps.identity.member = member;
  return { structuredContent: structured, content: [{ type: 'text', text: tool.summary(structured, parsed) }] };
}

/** A command's answer without what only the log needs (each event's meta, crc and id): fewer tokens for a model. */
function lean(answer: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(answer.events)) return answer;
  return { ...answer, events: (answer.events as Record<string, unknown>[]).map(({ meta: _meta, crc: _crc, id: _id, ...kept }) => kept) };
}

function send(deps: McpDeps, call: RouteCall): Promise<HttpAnswer> {
  const query = Object.entries(call.query ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
  const headers: Record<string, string> = {};
  if (deps.identity.session) headers['x-session-id'] = deps.identity.session;
  return deps.http(call.method, query ? `${call.path}?${query}` : call.path, call.body, headers);
}

function parseBody(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body);
  } catch {
    return answer.body;
  }
}

const isErrorBody = (json: unknown): json is ErrorBody => typeof json === 'object' && json !== null && typeof (json as ErrorBody).error === 'string' && typeof (json as ErrorBody).message === 'string';

/** A refused call: `isError`, with the HTTP API's `{error, message, field}` as its text. */
function refusal(body: ErrorBody): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }] };
}

const RESOURCE_PATTERNS = [
  { re: /^bmo:\/\/teams\/([a-z0-9][a-z0-9-]{0,63})$/, stream: 'teams', path: (id: string) => `/v1/teams/${id}`, mimeType: 'application/json' },
  { re: /^bmo:\/\/teams\/([a-z0-9][a-z0-9-]{0,63})\/events$/, stream: 'teams', path: (id: string) => `/v1/teams/${id}/events`, mimeType: 'application/json' },
  { re: /^bmo:\/\/workstreams\/([a-z0-9][a-z0-9-]{0,63})\/handoff$/, stream: 'workstreams', path: (id: string) => `/v1/workstreams/${id}/handoff?format=md`, mimeType: 'text/markdown' },
] as const;

/** A resource URI's route and the stream whose commits change it; undefined for a URI bmo does not serve. */
function resourceOf(uri: string) {
  for (const pattern of RESOURCE_PATTERNS) {
    const match = pattern.re.exec(uri);
    if (match) return { path: pattern.path(match[1]), stream: `${pattern.stream}/${match[1]}`, mimeType: pattern.mimeType };
  }
  return undefined;
}

/** Team and workstream resources, listed, readable and subscribable; a commit to a subscribed one's stream notifies it. */
function registerResources(server: Server, deps: McpDeps): void {
  const getJson = async (path: string) => {
    const answer = await deps.http('GET', path, undefined, {});
    const json = parseBody(answer);
    if (answer.status >= 400) throw new McpError(answer.status === 404 ? RESOURCE_NOT_FOUND : -32603, isErrorBody(json) ? json.message : `HTTP ${answer.status}`);
    return { answer, json: json as any };
  };
  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    const [teams, workstreams] = await Promise.all([getJson('/v1/teams'), getJson('/v1/workstreams')]);
    return {
      resources: [
        ...teams.json.teams.flatMap((t: { team_id: string; name: string }) => [
          { uri: `bmo://teams/${t.team_id}`, name: `team ${t.team_id}`, title: t.name, mimeType: 'application/json' },
          { uri: `bmo://teams/${t.team_id}/events`, name: `team ${t.team_id} events`, mimeType: 'application/json' },
        ]),
        ...workstreams.json.workstreams.map((w: { workstream_id: string; label: string }) => ({ uri: `bmo://workstreams/${w.workstream_id}/handoff`, name: `handoff ${w.workstream_id}`, title: w.label, mimeType: 'text/markdown' })),
      ],
    };
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      { uriTemplate: 'bmo://teams/{id}', name: 'team', description: 'A team in detail: members, tasks, message counts', mimeType: 'application/json' },
      { uriTemplate: 'bmo://teams/{id}/events', name: 'team events', description: "A team's event log", mimeType: 'application/json' },
      { uriTemplate: 'bmo://workstreams/{id}/handoff', name: 'workstream handoff', description: 'A workstream handoff as markdown', mimeType: 'text/markdown' },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const { uri } = request.params;
    const resource = resourceOf(uri);
    if (!resource) throw new McpError(RESOURCE_NOT_FOUND, `no resource ${uri}; bmo serves bmo://teams/{id}, bmo://teams/{id}/events and bmo://workstreams/{id}/handoff`);
    const { answer } = await getJson(resource.path);
    return { contents: [{ uri, mimeType: resource.mimeType, text: answer.body }] };
  });
  subscriptions(server, deps);
}

/** The subscribed URIs, and the change feed that tells which of them a commit touched (open only while any is subscribed). */
function subscriptions(server: Server, deps: McpDeps): void {
  const subscribed = new Map<string, string>();
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let feed: ReturnType<ChangeFeed> | undefined;
  const flush = () => {
    timer = undefined;
    for (const uri of pending) void server.sendResourceUpdated({ uri }).catch(() => {});
    pending.clear();
  };
  const onChange = (stream: string) => {
    for (const [uri, watched] of subscribed) if (watched === stream) pending.add(uri);
    if (pending.size > 0 && timer === undefined) timer = setTimeout(flush, NOTIFY_COALESCE_MS);
  };
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const resource = resourceOf(request.params.uri);
    if (!resource) throw new McpError(RESOURCE_NOT_FOUND, `no resource ${request.params.uri} to subscribe to`);
    if (!deps.changes) throw new BmoError('internal', 'this bmo cannot follow changes');
    subscribed.set(request.params.uri, resource.stream);
    feed ??= deps.changes(onChange);
    // A change made after the answer is notified: the feed is following by then.
    await feed.ready;
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    if (subscribed.size === 0) {
      feed?.stop();
      feed = undefined;
    }
    return {};
  });
  server.onclose = () => {
    feed?.stop();
    if (timer) clearTimeout(timer);
  };
}
