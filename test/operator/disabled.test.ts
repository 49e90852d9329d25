import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call, closedPort, runBmoCli, serveHere, TOKEN, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// Teams are opt-in: with [options.teams] enabled = false every team route answers 404
// `teams_disabled` with how to turn them on, and the CLI team verbs exit with code 5.

const DISABLED = { options: { teams: { enabled: false } } };

/** Every team route with a body it would accept when teams are on. */
const ROUTES: [string, string, unknown?][] = [
  ['GET', '/v1/teams'],
  ['POST', '/v1/teams', { id: 'crew', name: 'Crew', lead: { member_id: 'lead', name: 'Lead' } }],
  ['GET', '/v1/teams/posture'],
  ['GET', '/v1/teams/events/recent?limit=16'],
  ['GET', '/v1/teams/remote'],
  ['POST', '/v1/teams/remote/reset'],
  ['GET', '/v1/teams/crew'],
  ['GET', '/v1/teams/crew/events'],
  ['POST', '/v1/teams/crew/members', { member_id: 'ann', name: 'Ann' }],
  ['POST', '/v1/teams/crew/tasks', { task_id: 't1', title: 'one' }],
  ['GET', '/v1/teams/crew/tasks?ready=true'],
  ['GET', '/v1/teams/crew/tasks/t1'],
  ['PATCH', '/v1/teams/crew/tasks/t1', { note: 'n' }],
  ['POST', '/v1/teams/crew/tasks/t1/claim', { member_id: 'ann' }],
  ['POST', '/v1/teams/crew/tasks/t1/release', { member_id: 'ann', fencing_token: 1 }],
  ['POST', '/v1/teams/crew/tasks/t1/claim', { member_id: 'ann' }],
  ['POST', '/v1/teams/crew/tasks/t1/complete', { member_id: 'ann', fencing_token: 2 }],
  ['POST', '/v1/teams/crew/tasks', { task_id: 't2', title: 'two' }],
  ['POST', '/v1/teams/crew/tasks/t2/claim', { member_id: 'ann' }],
  ['POST', '/v1/teams/crew/tasks/t2/fail', { member_id: 'ann', fencing_token: 3 }],
  ['POST', '/v1/teams/crew/messages', { message_id: 'm1', from: 'lead', to: 'ann', body: 'hi' }],
  ['GET', '/v1/teams/crew/members/ann/inbox'],
  ['POST', '/v1/teams/crew/messages/m1/read', { member_id: 'ann' }],
  ['DELETE', '/v1/teams/crew/members/ann'],
  ['POST', '/v1/teams/cleanup', { scope: 'all' }],
  ['POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'crew' }],
  ['POST', '/v1/teams/crew/shutdown'],
  ['DELETE', '/v1/teams/crew'],
];

test('with teams disabled every team route answers 404 teams_disabled with how to enable them, and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    for (const [method, url, body] of ROUTES) {
      const res = await call(bmo, method, url, body);
      assert.is(res.status, 404, `${method} ${url}`);
      assert.is(res.json?.error, 'teams_disabled', `${method} ${url}: ${res.body}`);
      assert.match(res.json.message, /\[options\.teams\] enabled = true/, `${method} ${url}`);
      assert.match(res.json.message, /bmo\.toml/);
    }
    assert.is(bmo.pipeline.store.head(), 0);
    assert.not.ok(existsSync(join(dir, 'teams')));
    assert.not.ok(existsSync(join(dir, 'system')));
    // The bearer check still comes first: no token is 401, not a hint about teams.
    const anonymous = await bmo.server.inject({ method: 'GET', url: '/v1/teams' });
    assert.is(anonymous.statusCode, 401);
    // The rest of the API is not affected.
    assert.is((await call(bmo, 'GET', '/healthz')).status, 200);
    assert.is((await call(bmo, 'POST', '/v1/sessions', { session_id: 's1' })).status, 201);
  }, { overrides: DISABLED }),
);

test('with teams enabled the same routes all work', () =>
  withBmo(async (bmo) => {
    for (const [method, url, body] of ROUTES) {
      const res = await call(bmo, method, url, body);
      if (url === '/v1/teams/remote/reset') {
        // No remote is configured: the reset has nothing to act on; that is not teams_disabled.
        assert.is(res.status, 404, `${method} ${url}`);
        assert.is(res.json.error, 'not_found');
        continue;
      }
      assert.ok(res.status >= 200 && res.status < 300, `${method} ${url} → ${res.status} ${res.body}`);
    }
    const removed = await call(bmo, 'GET', '/v1/teams?all=true');
    assert.equal(
      removed.json.teams.map((t: { team_id: string; status: string }) => [t.team_id, t.status]),
      [['crew', 'removed']],
    );
  }),
);

// ---- the CLI ---------------------------------------------------------------------------------


const TEAM_VERBS = [
  ['team', 'list'],
  ['team', 'list', '--json'],
  ['team', 'status', 'crew'],
  ['team', 'cleanup', '--all'],
  ['team', 'cleanup', 'crew', '--json'],
  ['team', 'remote', 'status'],
  ['team', 'remote', 'reset'],
];

/** A port nothing listens on. */
test('the CLI team verbs exit with code 5 and say teams are disabled, against a server and on the data directory itself', async () => {
  const tmp = tempDir('bmo-operator-cli-');
  let server: Awaited<ReturnType<typeof serveHere>> | undefined;
  try {
    const dataDir = join(tmp.dir, 'data');
    const cliDir = join(tmp.dir, 'cli');
    mkdirSync(dataDir);
    mkdirSync(cliDir);
    // No bmo.toml anywhere: teams are off by default.
    server = await serveHere(dataDir);
    for (const verb of TEAM_VERBS) {
      const run = await runBmoCli(verb, cliDir, { BMO_URL: server.url, BMO_TOKEN: TOKEN });
      assert.is(run.code, 5, `bmo ${verb.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /teams are disabled/, `bmo ${verb.join(' ')}`);
      assert.match(run.stderr, /enabled = true/);
      assert.is(run.stdout, '');
    }
    await server.stop();
    server = undefined;

    // No server answers where it would listen (none was named): the CLI opens the data directory itself, under the same rule.
    const local = await runBmoCli(['team', 'list', '--json', '--data-dir', dataDir], cliDir, { BMO_PORT: String(await closedPort()) });
    assert.is(local.code, 5, local.stdout + local.stderr);
    assert.match(local.stderr, /teams are disabled/);
  } finally {
    await server?.stop().catch(() => {});
    tmp.cleanup();
  }
});

test('the CLI team verbs work against a server with teams enabled', async () => {
  const tmp = tempDir('bmo-operator-cli-');
  let server: Awaited<ReturnType<typeof serveHere>> | undefined;
  try {
    const dataDir = join(tmp.dir, 'data');
    const cliDir = join(tmp.dir, 'cli');
    mkdirSync(dataDir);
    mkdirSync(cliDir);
    server = await serveHere(dataDir, true);
    const created = await fetch(`${server.url}/v1/teams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'crew', name: 'Crew', lead: { name: 'Lead' } }),
    });
    assert.is(created.status, 201);
    const env = { BMO_URL: server.url, BMO_TOKEN: TOKEN };
    for (const verb of TEAM_VERBS.filter((v) => v.join(' ') !== 'team remote reset')) {
      const run = await runBmoCli(verb, cliDir, env);
      assert.is(run.code, 0, `bmo ${verb.join(' ')}: ${run.stderr}`);
      assert.not.match(run.stderr, /disabled/);
    }
    const list = JSON.parse((await runBmoCli(['team', 'list', '--json'], cliDir, env)).stdout);
    assert.equal(
      list.teams.map((t: { team_id: string }) => t.team_id),
      ['crew'],
    );
    // Reset with no remote configured is "not found" (exit 3), not "disabled" (exit 5).
    const reset = await runBmoCli(['team', 'remote', 'reset'], cliDir, env);
    assert.is(reset.code, 3, reset.stderr);
  } finally {
    await server?.stop().catch(() => {});
    tmp.cleanup();
  }
});

test.run();
