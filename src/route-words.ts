/**
 * Routes in the words of a surface: a table of routes, each with what that surface's user does
 * instead (a CLI verb in src/cli/routes.ts, an MCP tool in src/mcp/words.ts), and a server message
 * rewritten with it. Errors say what to do in the words of the surface the user is on.
 */

/** Routes, each with what a surface's user does instead (a CLI verb, an MCP tool); `:name` in the words is the route's parameter. */
export type RouteWords = readonly (readonly [method: string, route: string, words: string])[];

/** What `table` says for `path`, or undefined when no route of it matches. */
export function wordsFor(table: RouteWords, path: string, method?: string): string | undefined {
  const exact = table.find(([m, route]) => route === path && (method === undefined || m === method));
  if (exact) return exact[2];
  const parts = path.split('?')[0].replace(/\/$/, '').split('/');
  const candidates = table.filter(([m]) => method === undefined || m === method);
  // A literal segment beats a parameter: /v1/teams/posture is the posture, not team "posture".
  const ranked = [...candidates].sort(([, a], [, b]) => (b.match(/\/[^:/]+/g)?.length ?? 0) - (a.match(/\/[^:/]+/g)?.length ?? 0));
  for (const [, route, verb] of ranked) {
    const pattern = route.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    if (!pattern.every((p, i) => (p.startsWith(':') ? ((params[p.slice(1)] = decodeURIComponent(parts[i])), parts[i] !== '') : p === parts[i]))) continue;
    return verb.replace(/:(\w+)/g, (_, name: string) => params[name] ?? `<${name}>`);
  }
  return undefined;
}

/** Each route `message` names (`GET /v1/workstreams`, or a bare `/v1/teams/x/members`) as `table` words it; a route it lacks stays. */
export function routesInWords(table: RouteWords, message: string): string {
  return message.replace(/(?:\b(?:GET|POST|PUT|PATCH|DELETE)\s+)?\/v1\/[^\s;,)'"`]*/g, (found) => {
    const [method, path] = /^[A-Z]+\s/.test(found) ? [found.split(/\s+/)[0], found.split(/\s+/)[1]] : [undefined, found];
    return wordsFor(table, path, method) ?? wordsFor(table, path) ?? found;
  });
}
