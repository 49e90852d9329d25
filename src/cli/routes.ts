import { routesInWords, wordsFor, type RouteWords } from '../route-words.js';

/**
 * Every HTTP route the CLI calls, as the verb a CLI user types to do the same: a server's message
 * that names a route reaches a CLI user naming the verb (`bmo workstream list`, not
 * `GET /v1/workstreams`). Routes only an agent calls are named as its MCP tool, through `bmo mcp`.
 * `:name` in a verb is the route's parameter of that name.
 */
export const ROUTE_VERBS: RouteWords = [
  ['GET', '/v1/teams', 'bmo team list'],
  ['GET', '/v1/teams?all=true', 'bmo team list --all'],
  ['GET', '/v1/teams/posture', 'bmo team posture'],
  ['GET', '/v1/teams/events/recent', 'bmo config show-teams'],
  ['POST', '/v1/teams/cleanup', 'bmo team cleanup'],
  ['GET', '/v1/teams/remote', 'bmo team remote status'],
  ['POST', '/v1/teams/remote/reset', 'bmo team remote reset'],
  ['GET', '/v1/teams/:id', 'bmo team status :id'],
  ['GET', '/v1/teams/:id/events', 'bmo events tail --stream teams/:id'],
  ['GET', '/v1/teams/:id/timeline', 'bmo team timeline :id'],
  ['GET', '/v1/workstreams', 'bmo workstream list'],
  ['POST', '/v1/workstreams', 'bmo workstream create'],
  ['GET', '/v1/workstreams/:id', 'bmo workstream show :id'],
  ['GET', '/v1/workstreams/:id/status', 'bmo workstream status :id'],
  ['PUT', '/v1/workstreams/:id/status', 'bmo workstream set-status :id'],
  ['GET', '/v1/workstreams/:id/handoff', 'bmo workstream handoff :id'],
  ['GET', '/v1/workstreams/:id/events', 'bmo events tail --stream workstreams/:id'],
  ['PUT', '/v1/workstreams/:id/plan', 'bmo workstream set-plan :id'],
  ['PUT', '/v1/workstreams/:id/boundary', 'bmo workstream boundary :id'],
  ['GET', '/v1/workstreams/:id/recipe', 'bmo workstream recipe list :id'],
  ['POST', '/v1/workstreams/:id/recipe', 'bmo workstream recipe add :id'],
  ['GET', '/v1/workstreams/:id/verify-runs', 'bmo workstream show :id --json'],
  ['POST', '/v1/workstreams/:id/verify-runs', 'bmo workstream verify-run :id'],
  ['POST', '/v1/workstreams/:id/findings', 'bmo workstream finding :id'],
  ['POST', '/v1/workstreams/:id/artifacts', 'bmo workstream artifact :id'],
  ['POST', '/v1/workstreams/:id/markers', 'bmo workstream marker add :id'],
  ['POST', '/v1/workstreams/:id/markers/:marker/clear', 'bmo workstream marker clear :id :marker'],
  ['GET', '/v1/workstreams/:id/nanites', 'bmo nanite status :id'],
  ['POST', '/v1/workstreams/:id/nanites', 'bmo nanite run --workstream :id'],
  ['GET', '/v1/workstreams/:id/nanites/:nanite', 'bmo nanite status :id :nanite'],
  ['POST', '/v1/workstreams/:id/nanites/:nanite/complete', 'bmo nanite close :id :nanite'],
  ['GET', '/v1/cartography', 'bmo cartography'],
  ['GET', '/v1/credentials', 'bmo token list'],
  ['POST', '/v1/credentials', 'bmo token issue'],
  ['DELETE', '/v1/credentials/:id', 'bmo token revoke :id'],
  ['GET', '/v1/events', 'bmo events tail'],
  // Only an agent does these: its tools, through bmo mcp.
  ['POST', '/v1/teams', 'the team_create tool (bmo mcp)'],
  ['POST', '/v1/teams/:id/members', 'the team_join tool (bmo mcp)'],
  ['POST', '/v1/teams/:id/shutdown', 'the team_shutdown tool (bmo mcp)'],
  ['POST', '/v1/sessions', 'bmo mcp (it starts the session)'],
];

/** The verb for `path` (a query left off unless the table has the path with it), or undefined when no route of the table matches. */
export const verbFor = (path: string, method?: string) => wordsFor(ROUTE_VERBS, path, method);

/**
 * A server's message in the CLI's words: each route it names (`GET /v1/workstreams`, or a bare
 * `/v1/teams/x/members`) becomes the verb that does the same; "verb (route)" becomes the verb once;
 * a query parameter it opens with (`field` `query.as_of`, "as_of: …") becomes the flag (`--as-of: …`).
 */
export function cliWords(message: string, field?: string): string {
  const param = field?.startsWith('query.') ? field.slice('query.'.length) : undefined;
  if (param && message.startsWith(`${param}: `)) message = `--${param.replace(/_/g, '-')}: ${message.slice(param.length + 2)}`;
  return routesInWords(ROUTE_VERBS, message).replace(/(bmo [^()]+?) \(\1\)/g, '$1');
}
