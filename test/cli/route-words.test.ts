import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROUTE_VERBS, cliWords, verbFor } from '../../src/cli/routes.js';
import { call, runBmoCli, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// Errors say what to do in the words of the surface: a CLI user reads verbs, never /v1/ routes.

test('every route the CLI calls is a route of the server, and a refusal from each reaches a CLI user naming a verb, never /v1/', () =>
  withBmo(async (bmo) => {
    const routes = (bmo.server as unknown as { bmoRoutes: Set<string> }).bmoRoutes;
    for (const [method, route] of ROUTE_VERBS) assert.ok(routes.has(`${method} ${route.split('?')[0]}`), `${method} ${route} is not a route of the server`);
    const seen: string[] = [];
    for (const [method, route, verb] of ROUTE_VERBS) {
      const path = route.replace(/:\w+/g, 'nope');
      const answer = await call(bmo, method, path, method === 'GET' || method === 'DELETE' ? undefined : { nope: 1 });
      if (answer.status < 400) continue;
      const message = String(answer.json?.message ?? '');
      const words = cliWords(message);
      assert.not.match(words, /\/v1\//, `${method} ${route} → ${message}`);
      if (/\/v1\//.test(message)) assert.match(words, /bmo /, `${method} ${route}: ${words}`);
      seen.push(`${method} ${route}`);
      assert.is(verbFor(path, method), verb.replace(/:\w+/g, 'nope'));
    }
    assert.ok(seen.length >= ROUTE_VERBS.length / 2, `most routes refuse unknown ids or bodies: ${seen.length}`);
  }));

test('a route named in a message becomes the verb once; a literal segment beats a parameter; an agent-only route names its tool', () => {
  assert.is(cliWords('no workstream w; bmo workstream list (GET /v1/workstreams) lists them'), 'no workstream w; bmo workstream list lists them');
  assert.is(cliWords('no team t; GET /v1/teams?all=true lists them'), 'no team t; bmo team list --all lists them');
  assert.is(cliWords('no team t; GET /v1/teams lists them'), 'no team t; bmo team list lists them');
  assert.is(cliWords('team t did not exist yet at pos 2; ask for a later point (its log: /v1/teams/t/events)'), 'team t did not exist yet at pos 2; ask for a later point (its log: bmo events tail --stream teams/t)');
  assert.is(verbFor('/v1/teams/posture', 'GET'), 'bmo team posture');
  assert.is(verbFor('/v1/teams/docs', 'GET'), 'bmo team status docs');
  assert.is(cliWords('join it first (POST /v1/teams/docs/members), or ask an admin'), 'join it first (the team_join tool (bmo mcp)), or ask an admin');
  assert.is(cliWords('list with GET /v1/credentials and revoke one that was lost'), 'list with bmo token list and revoke one that was lost');
});

test('a query parameter a message opens with becomes the CLI flag: as_of is --as-of', () => {
  assert.is(cliWords('as_of: pos 999 is beyond the head of the log (46); ask for 46 or less', 'query.as_of'), '--as-of: pos 999 is beyond the head of the log (46); ask for 46 or less');
  assert.is(cliWords('as_of: pos 999 is beyond the head', 'as_of'), 'as_of: pos 999 is beyond the head', 'not a query field: left as it is');
  assert.is(cliWords('limit: must be a whole number from 1 to 500', 'query.limit'), '--limit: must be a whole number from 1 to 500');
});

test('through the real CLI with no server: unknown ids and an empty list name verbs', async () => {
  const tmp = tempDir('bmo-route-words-');
  writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
  try {
    for (const args of [
      ['team', 'status', 'nope'],
      ['team', 'list'],
      ['workstream', 'status', 'nope'],
      ['nanite', 'status', 'nope'],
    ]) {
      const result = await runBmoCli(args, tmp.dir);
      assert.not.match(result.stdout + result.stderr, /\/v1\//, `bmo ${args.join(' ')}: ${result.stderr}${result.stdout}`);
      assert.match(result.stdout + result.stderr, /bmo (team|workstream) list|bmo mcp/);
    }
  } finally {
    tmp.cleanup();
  }
});

test.run();
