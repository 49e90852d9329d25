/**
 * A refusal in an agent's words: the HTTP answer's message names routes (`GET /v1/teams lists
 * them`) and sometimes CLI verbs and flags; an agent reads the tool that does the same. Its
 * `field` names the argument the agent passed (`team_id`, `as_of`), not the route's (`id`,
 * `query.as_of`). The error code stays the route's.
 */
import { routesInWords, type RouteWords } from '../route-words.js';
import type { ErrorBody } from '../http/errors.js';

/** Each route a refusal may name, as the tool (and its arguments) that does the same. */
export const ROUTE_TOOLS: RouteWords = [
  ['GET', '/v1/teams', 'team_list'],
  ['GET', '/v1/teams?all=true', 'team_list with all: true'],
  ['GET', '/v1/teams/posture', 'team_posture'],
  ['GET', '/v1/teams/events/recent', 'list_recent_team_events'],
  ['GET', '/v1/teams/:id', 'team_status'],
  ['GET', '/v1/teams/:id/events', 'events_since with filter teams/:id'],
  ['GET', '/v1/teams/:id/timeline', 'team_timeline'],
  ['POST', '/v1/teams', 'team_create'],
  ['POST', '/v1/teams/:id/members', 'team_join'],
  ['POST', '/v1/teams/:id/shutdown', 'team_shutdown'],
  ['GET', '/v1/teams/:id/tasks', 'task_list'],
  ['POST', '/v1/teams/:id/tasks', 'task_create'],
  ['GET', '/v1/workstreams', 'workstream_list'],
  ['POST', '/v1/workstreams', 'workstream_create'],
  ['GET', '/v1/workstreams/:id', 'workstream_status'],
  ['GET', '/v1/workstreams/:id/status', 'workstream_status'],
  ['GET', '/v1/workstreams/:id/handoff', 'workstream_handoff'],
  ['GET', '/v1/workstreams/:id/events', 'events_since with filter workstreams/:id'],
  ['GET', '/v1/events', 'events_since'],
  ['POST', '/v1/sessions', 'bmo mcp starts one when it starts'],
];

/** An id in a CLI verb (the verb's argument). */
const ID = '[a-z0-9][a-z0-9-]*';
const cli = (pattern: string) => new RegExp(pattern.replace(/<id>/g, ID), 'g');

/** CLI words a server message may hold, as an agent does the same: the most specific first. */
const CLI_WORDS: [RegExp, string][] = [
  [cli('bmo team list --all'), 'team_list with all: true'],
  [cli('bmo team list'), 'team_list'],
  [cli('bmo workstream list'), 'workstream_list'],
  [cli('--force --reason(?: R| "…")?'), 'force: true with a reason'],
  [cli('--reason "…"'), 'a reason'],
  [cli('bmo workstream set-plan <id> --path \\S+ --kind [A-Za-z]+'), 'workstream_set_plan'],
  [cli('bmo workstream boundary <id> <boundary>'), 'workstream_boundary'],
  [cli('bmo workstream verify-run <id> (?:-- CMD…|--again)'), 'verify_record (a run you did yourself)'],
  [cli('bmo workstream verify <id>(?: <id>)*'), 'verify_record (each step you ran)'],
  [cli('bmo workstream set-status <id> ([a-z]+)'), 'workstream_set_status with status $1'],
  [cli('bmo workstream marker clear <id> (<id>)'), 'marker_clear with marker_id $1'],
  [cli('bmo workstream (?:show|status) <id>(?: --json)?'), 'workstream_status'],
  [cli('bmo workstream handoff <id>(?: --full| --format md)?'), 'workstream_handoff'],
  [cli('bmo events tail --stream ([a-z]+/<id>)'), 'events_since with filter $1'],
];

/** The route's field as the tool's argument: `query.` dropped, a path parameter as the id argument the tool took. */
function argumentOf(field: string, args: Record<string, unknown>): string {
  const name = field.startsWith('query.') ? field.slice('query.'.length) : field;
  const ids: Record<string, string[]> = { id: ['team_id', 'workstream_id'], member: ['member_id'], task: ['task_id'], message: ['message_id'], marker: ['marker_id'] };
  return ids[name]?.find((arg) => arg in args) ?? name;
}

/** The argument a whole-body refusal names (`unknown field(s) "as_of"`), when it names one. */
function unknownArgument(message: string, field: string): string | undefined {
  return field === '(body)' ? /unknown field\(s\) "([^"]+)"/.exec(message)?.[1] : undefined;
}

/** A text of the server's (a message, a next step, a handoff) with its routes and CLI verbs as the tools that do the same. */
export function toolWords(text: string): string {
  let out = routesInWords(ROUTE_TOOLS, text);
  for (const [pattern, words] of CLI_WORDS) out = out.replace(pattern, words);
  // "verb (route)" in the server's text: now the same tool twice.
  return out.replace(/(\w+(?: with [^()]+)?) \(\1\)/g, '$1');
}

/** Every string in `value` (an answer) in tool words. */
export function inToolWords<T>(value: T): T {
  if (typeof value === 'string') return toolWords(value) as T;
  if (Array.isArray(value)) return value.map(inToolWords) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inToolWords(v)])) as T;
  return value;
}

/** `body` as the agent (`me`, the member it acts as) that called a tool with `args` reads it. */
export function mcpWords(body: ErrorBody, args: Record<string, unknown>, me?: string): ErrorBody {
  let message = toolWords(body.message);
  if (body.field === undefined) return { ...body, message };
  // The session bmo mcp sends for the agent: it was named when bmo mcp started.
  if (body.field === 'X-Session-Id') return { ...body, message: message.replace(/^X-Session-Id: /, 'session: ').replace('leave the header out or send your own', 'start bmo mcp without --session, or with a session of your own'), field: 'session' };
  const field = unknownArgument(message, body.field) ?? argumentOf(body.field, args);
  // The agent itself is not in the team (not another member it named): say how to get in.
  const itself = args[field] === undefined || args[field] === me;
  if ((field === 'member_id' || field === 'from') && itself && /is not a member of team \S+/.test(message)) message += '; join it first with team_join';
  const said = body.field.replace(/^query\./, '');
  if (said !== field && message.startsWith(`${said}: `)) message = `${field}: ${message.slice(said.length + 2)}`;
  return { ...body, message, field };
}
