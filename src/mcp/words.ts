/**
 * A refusal in an agent's words: the HTTP answer's message names routes (`GET /v1/teams lists
 * them`) and sometimes CLI verbs and flags; an agent reads the tool that does the same. Its
 * `field` names the argument the agent passed (`team_id`, `as_of`), not the route's (`id`,
 * `query.as_of`). The error code stays the route's.
 */
import { routesInWords, type RouteWords } from '../cli/routes.js';
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
  ['GET', '/v1/stream', 'events_since'],
  ['POST', '/v1/sessions', 'bmo mcp (it starts the session)'],
];

/** CLI words a server message may hold, as an agent does the same: the most specific first. */
const CLI_WORDS: [RegExp, string][] = [
  [/bmo team list --all/g, 'team_list with all: true'],
  [/bmo team list/g, 'team_list'],
  [/bmo workstream list/g, 'workstream_list'],
  [/--force --reason(?: R| "…")?/g, 'force: true with a reason'],
  [/bmo workstream set-plan \S+ --path \S+ --kind \S+/g, 'workstream_set_plan'],
  [/bmo workstream boundary \S+ <boundary>/g, 'workstream_boundary'],
  [/bmo workstream verify-run \S+ (?:-- CMD…|--again)/g, 'verify_record (a run you did yourself)'],
  [/bmo workstream verify \S+(?: [\w-]+)*/g, 'verify_record (each step you ran)'],
  [/bmo workstream set-status \S+ (\w+)/g, 'workstream_set_status with status $1'],
  [/bmo workstream marker clear \S+ (\S+)/g, 'marker_clear with marker_id $1'],
  [/bmo workstream (?:show|status) \S+(?: --json)?/g, 'workstream_status'],
  [/bmo workstream handoff \S+(?: --full| --format md)?/g, 'workstream_handoff'],
  [/bmo events tail --stream (\S+)/g, 'events_since with filter $1'],
];

/** The route's field as the tool's argument: `query.` dropped, a path parameter as the id argument the tool took. */
function argumentOf(field: string, args: Record<string, unknown>): string {
  const name = field.startsWith('query.') ? field.slice('query.'.length) : field;
  const ids: Record<string, string[]> = { id: ['team_id', 'workstream_id'], member: ['member_id'], task: ['task_id'], message: ['message_id'], marker: ['marker_id'] };
  return ids[name]?.find((arg) => arg in args) ?? name;
}

/** `body` as the agent that called a tool with `args` reads it. */
export function mcpWords(body: ErrorBody, args: Record<string, unknown>): ErrorBody {
  let message = routesInWords(ROUTE_TOOLS, body.message);
  for (const [pattern, words] of CLI_WORDS) message = message.replace(pattern, words);
  // "verb (route)" in the server's message: now the same tool twice.
  message = message.replace(/(\w+(?: with [^()]+)?) \(\1\)/g, '$1');
  if (body.field === undefined) return { ...body, message };
  const field = argumentOf(body.field, args);
  // The agent itself is not in the team: say how to get in.
  if ((field === 'member_id' || field === 'from') && /is not a member of team \S+/.test(message)) message += '; join it first with team_join';
  const said = body.field.replace(/^query\./, '');
  if (said !== field && message.startsWith(`${said}: `)) message = `${field}: ${message.slice(said.length + 2)}`;
  return { ...body, message, field };
}
