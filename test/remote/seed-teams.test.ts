import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import fnv from 'fnv-plus';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, closedPort, runBmoCli, spawnServer, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// Seed 003, row by row: every cleanup attempt audited with its outcome, degraded said as degraded
// on every surface, an answer that is not bmo's counted as a failure, field discipline on every
// teams.fired line, and the ring of a forwarding server holding the remote's team events.

interface Line {
  pos: number;
  type: string;
  data: Record<string, any>;
}

function readLog(dir: string, stream: string): Line[] {
  const file = join(dir, stream, 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A stand-in for a remote that answers every request with one fixed status, type and body. */
async function fixedServer(status: number, type: string, body: string): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(status, { 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const tmp = tempDir('bmo-seed-teams-');
  try {
    await fn(tmp.dir);
  } finally {
    tmp.cleanup();
  }
}

test('every cleanup attempt is audited: completed, an unknown or removed id (not_found, exit 3), a remote that is down (remote_failed, exit 69)', () =>
  withDir(async (dir) => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
    const env = { BMO_CONFIG: join(dir, 'bmo.toml'), BMO_DATA_DIR: dataDir };
    const local = await startTestBmo(dataDir);
    await call(local, 'POST', '/v1/sessions', { session_id: 'gone-lead' });
    await call(local, 'POST', '/v1/teams', { id: 'orphan', name: 'O', lead: { name: 'L', session_id: 'gone-lead' } });
    await call(local, 'POST', '/v1/sessions/gone-lead/end');
    await local.close();

    // No server: the CLI opens the data directory itself.
    const done = await runBmoCli(['team', 'cleanup', 'orphan'], dir, env);
    assert.is(done.code, 0, done.stderr);
    const unknown = await runBmoCli(['team', 'cleanup', 'no-such-team'], dir, env);
    assert.is(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /no team no-such-team.*recorded \(outcome not_found\).*bmo team list/);
    const again = await runBmoCli(['team', 'cleanup', 'orphan'], dir, env);
    assert.is(again.code, 3, again.stderr);
    assert.match(again.stderr, /team orphan was removed already/);
    assert.equal(
      readLog(dataDir, 'system/cleanup').map((e) => [e.data.scope, e.data.removed, e.data.outcome, e.data.team_id]),
      [
        ['single', 1, 'completed', 'orphan'],
        ['single', 0, 'not_found', 'no-such-team'],
        ['single', 0, 'not_found', 'orphan'],
      ],
    );

    // A forwarding server whose remote is down: the attempt is recorded where it was made.
    const port = await closedPort();
    const forwarding = await startTestBmo(join(dir, 'fwd'), { overrides: { options: { teams: { server_url: `http://127.0.0.1:${port}`, timeout_ms: 500 } } }, listen: true });
    try {
      const failed = await runBmoCli(['team', 'cleanup', '--all'], dir, { ...env, BMO_URL: forwarding.url!, BMO_TOKEN: TOKEN });
      assert.is(failed.code, 69, failed.stderr);
      assert.match(failed.stderr, /could not be reached/);
      assert.equal(
        readLog(join(dir, 'fwd'), 'system/cleanup').map((e) => [e.data.scope, e.data.removed, e.data.outcome]),
        [['all', 0, 'remote_failed']],
      );
      const recent = await call(forwarding, 'GET', '/v1/teams/events/recent');
      assert.ok(recent.json.events.some((e: { type: string; outcome?: string }) => e.type === 'cleanup_completed' && e.outcome === 'removed=0 scope=all outcome=remote_failed'));
    } finally {
      await forwarding.close();
    }
  }));

test('a remote answer that is not bmo\'s is a failure of kind bad_response: a 404 from a wrong path, HTML, JSON without the route\'s fields', () =>
  withDir(async (dir) => {
    const cases = [
      { status: 404, type: 'application/json', body: '{"message":"Route GET:/api/v1/teams not found","error":"Not Found","statusCode":404}' },
      { status: 404, type: 'text/html', body: '<html><body>Not Found</body></html>' },
      { status: 200, type: 'text/html', body: '<html>welcome</html>' },
      { status: 200, type: 'application/json', body: '{"hello":"world"}' },
      { status: 200, type: 'application/json', body: '[1,2,3]' },
    ];
    for (const [i, c] of cases.entries()) {
      const remote = await fixedServer(c.status, c.type, c.body);
      const a = await startTestBmo(join(dir, `a${i}`), { overrides: { options: { teams: { server_url: `${remote.url}/api`, timeout_ms: 500 } } } });
      try {
        const res = await call(a, 'GET', '/v1/teams');
        assert.is(res.status, 502, `${c.body}: ${res.body}`);
        assert.is(res.json.details.kind, 'bad_response', c.body);
        assert.match(res.json.message, /server_url/);
        assert.is(remote.hits(), 1);
        assert.equal(
          readLog(join(dir, `a${i}`), 'system/remote').map((e) => [e.type, e.data.kind]),
          [['remote_failed', 'bad_response']],
        );
      } finally {
        await a.close();
        await remote.close();
      }
    }
    // bmo's own error body passes through as the remote's answer, and is no failure.
    const bmoError = await fixedServer(404, 'application/json', '{"error":"not_found","message":"no team x","field":"id"}');
    const a = await startTestBmo(join(dir, 'ok'), { overrides: { options: { teams: { server_url: bmoError.url, timeout_ms: 500 } } } });
    try {
      const res = await call(a, 'GET', '/v1/teams/x');
      assert.equal([res.status, res.json.error], [404, 'not_found']);
      assert.equal(readLog(join(dir, 'ok'), 'system/remote'), []);
    } finally {
      await a.close();
      await bmoError.close();
    }
  }));

test('a name that does not resolve is kind dns; a server_url that is not http(s) is a config error naming the key, no stack', () =>
  withDir(async (dir) => {
    const a = await startTestBmo(join(dir, 'a'), { overrides: { options: { teams: { server_url: 'http://no-such-host.invalid', timeout_ms: 3000 } } } });
    try {
      const res = await call(a, 'GET', '/v1/teams');
      assert.is(res.status, 502, res.body);
      assert.is(res.json.details.kind, 'dns');
      assert.match(res.json.message, /does not resolve/);
    } finally {
      await a.close();
    }
    for (const url of ['ftp://teams.example.com', 'file:///etc/passwd']) {
      writeFileSync(join(dir, 'bmo.toml'), `[options.teams]\nenabled = true\nserver_url = "${url}"\n`);
      const cli = await runBmoCli(['team', 'list'], dir);
      assert.is(cli.code, 78, cli.stderr);
      assert.match(cli.stderr, /options\.teams\.server_url: must be an http:\/\/ or https:\/\/ URL/);
      assert.not.match(cli.stderr, /\n\s+at /, 'no stack');
    }
  }));

test('while degraded, the chip reads degraded: <kind>, and team posture, config show-teams and the serving on line say degraded', () =>
  withDir(async (dir) => {
    const remote = await fixedServer(500, 'application/json', '{"error":"internal","message":"boom"}');
    const config = join(dir, 'bmo.toml');
    writeFileSync(config, `[options.teams]\nenabled = true\nserver_url = "${remote.url}"\ntimeout_ms = 500\n`);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    let a: Bmo | undefined = await startTestBmo(dataDir, { overrides: { options: { teams: { server_url: remote.url, timeout_ms: 500 } } }, listen: true });
    try {
      for (let i = 0; i < 3; i++) assert.is((await call(a, 'GET', '/v1/teams')).status, 502);
      assert.is(a.posture().chip, 'degraded: 5xx');
      const env = { BMO_URL: a.url!, BMO_TOKEN: TOKEN, BMO_CONFIG: config };
      const posture = await runBmoCli(['team', 'posture'], dir, env);
      assert.is(posture.code, 0, posture.stderr);
      assert.match(posture.stdout, /^degraded: 5xx/);
      assert.match(posture.stdout, new RegExp(`remote 127\\.0\\.0\\.1:\\d+: degraded since \\S+ \\(3 consecutive failures, the last: 5xx\\); bmo team remote reset clears it`));
      const show = await runBmoCli(['config', 'show-teams'], dir, env);
      assert.is(show.code, 0, show.stderr);
      assert.match(show.stdout, /the server's teams: remote 127\.0\.0\.1:\d+: degraded since/);
      await a.close();
      a = undefined;
      const server = await spawnServer(dataDir, { BMO_CONFIG: config });
      try {
        assert.match(server.stdout(), /teams forwarded to remote 127\.0\.0\.1:\d+: degraded since/);
      } finally {
        await server.stop('SIGKILL');
      }
    } finally {
      await a?.close();
      await remote.close();
    }
  }));

test('teams.fired carries session_id_hash for a lead or claim session named in the body, and team_id_hash on create and single cleanup', () =>
  withDir(async (dir) => {
    const lines: string[] = [];
    const bmo = await startTestBmo(dir, { logLines: lines });
    try {
      await call(bmo, 'POST', '/v1/sessions', { session_id: 'lead-sess' });
      await call(bmo, 'POST', '/v1/sessions', { session_id: 'claim-sess' });
      await call(bmo, 'POST', '/v1/teams', { id: 'named', name: 'N', lead: { name: 'L', session_id: 'lead-sess' } });
      const unnamed = await call(bmo, 'POST', '/v1/teams', { name: 'U', lead: { name: 'L' } });
      await call(bmo, 'POST', '/v1/teams/named/members', { member_id: 'bob', name: 'Bob' });
      await call(bmo, 'POST', '/v1/teams/named/tasks', { task_id: 't', title: 'T' });
      await call(bmo, 'POST', '/v1/teams/named/tasks/t/claim', { member_id: 'bob', session_id: 'claim-sess' });
      await call(bmo, 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'named' });
      const fired = lines.map((l) => JSON.parse(l)).filter((l) => l.channel === 'teams.fired');
      const line = (lifecycle: string, n = 0) => fired.filter((l) => l.lifecycle === lifecycle)[n];
      assert.equal([line('POST /v1/teams').team_id_hash, line('POST /v1/teams').session_id_hash], [fnv.fast1a32hex('named'), fnv.fast1a32hex('lead-sess')]);
      assert.is(line('POST /v1/teams', 1).team_id_hash, fnv.fast1a32hex(unnamed.json.team_id));
      assert.is(line('POST /v1/teams/:id/tasks/:task/claim').session_id_hash, fnv.fast1a32hex('claim-sess'));
      assert.is(line('POST /v1/teams/cleanup').team_id_hash, fnv.fast1a32hex('named'));
      for (const l of fired) {
        assert.not.ok(JSON.stringify(l).includes('lead-sess') || JSON.stringify(l).includes('"named"'), 'hashes only');
        if (l.lifecycle !== 'POST /v1/sessions') assert.ok(l.team_id_hash, `${l.lifecycle} has team_id_hash`);
      }
    } finally {
      await bmo.close();
    }
  }));

test("a forwarding server's recent events and posture tail merge the remote's team events by time, each marked with the remote host", () =>
  withDir(async (dir) => {
    const b = await startTestBmo(join(dir, 'b'), { listen: true });
    const a = await startTestBmo(join(dir, 'a'), { overrides: { options: { teams: { server_url: b.url, timeout_ms: 2000 } } }, listen: true });
    try {
      const host = new URL(b.url!).host;
      await call(a, 'POST', '/v1/teams', { id: 'far', name: 'Far', lead: { name: 'L' } });
      await call(a, 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'gone' }); // 404 from B, audited on B
      const recent = await call(a, 'GET', '/v1/teams/events/recent?limit=16');
      assert.is(recent.status, 200, recent.body);
      const types = recent.json.events.map((e: { type: string; remote?: string; stream: string }) => [e.stream, e.type, e.remote]);
      assert.equal(types, [
        ['teams/far', 'team_created', host],
        ['teams/far', 'member_joined', host],
        ['system/cleanup', 'cleanup_completed', host],
      ]);
      const sorted = [...recent.json.events].sort((x: { at: string }, y: { at: string }) => x.at.localeCompare(y.at));
      assert.equal(recent.json.events, sorted);
      const posture = await call(a, 'GET', '/v1/teams/posture');
      assert.equal(
        posture.json.recent.map((e: { type: string; remote?: string }) => [e.type, e.remote]),
        types.map((t: string[]) => [t[1], t[2]]),
      );
      // The CLI shows where each came from.
      const cli = await runBmoCli(['config', 'show-teams'], dir, { BMO_URL: a.url!, BMO_TOKEN: TOKEN });
      assert.is(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, new RegExp(`teams/far#1  team_created  @${host.replace(/\./g, '\\.')}`));
    } finally {
      await a.close();
      await b.close();
    }
  }));

test.run();
