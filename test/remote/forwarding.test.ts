import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, okJson, readLog, spawnServer, startTestBmo, TOKEN, type ServerProcess } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// Instance A with [options.teams] server_url pointing at a real second `bmo serve` (B): team and
// session operations are served by B and written to B's logs only; A keeps score of B's health.

interface Line {
  type: string;
  stream: string;
  data: Record<string, any>;
}

const remoteLog = (dir: string) => readLog<Line>(join(dir, 'system', 'remote', 'events.jsonl'));

async function direct(server: ServerProcess, method: string, path: string) {
  const res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, json: (await res.json()) as any };
}

/** B: a real `bmo serve` with teams on, in `<root>/b`; A: in-process, in `<root>/a`, pointed at B. */
async function withPair(aTeams: Record<string, unknown>, fn: (ctx: { a: Bmo; b: ServerProcess; aDir: string; bDir: string }) => Promise<void>) {
  const tmp = tempDir('bmo-remote-');
  let b: ServerProcess | undefined;
  let a: Bmo | undefined;
  try {
    const aDir = join(tmp.dir, 'a');
    const bDir = join(tmp.dir, 'b');
    mkdirSync(bDir);
    writeFileSync(join(tmp.dir, 'b.toml'), '[options.teams]\nenabled = true\n');
    b = await spawnServer(bDir, { BMO_CONFIG: join(tmp.dir, 'b.toml') });
    // No short timeout: nothing here is about a slow remote, and B may be slow to answer on a loaded machine.
    a = await startTestBmo(aDir, { overrides: { options: { teams: { server_url: b.url, timeout_ms: 30_000, ...aTeams } } } });
    await fn({ a, b, aDir, bDir });
  } finally {
    await a?.close().catch(() => {});
    await b?.stop('SIGKILL').catch(() => {});
    tmp.cleanup();
  }
}

test("a team created through A is served by B and written to B's log, not A's", () =>
  withPair({}, async ({ a, b, aDir, bDir }) => {
    const created = await okJson(a, 201, 'POST', '/v1/teams', { id: 'far-team', name: 'Far', goal: 'served remotely', lead: { member_id: 'lead', name: 'Lead' } });
    assert.is(created.team_id, 'far-team');
    assert.equal(
      created.events.map((e: Line) => [e.stream, e.type]),
      [
        ['teams/far-team', 'team_created'],
        ['teams/far-team', 'member_joined'],
      ],
    );
    await okJson(a, 201, 'POST', '/v1/teams/far-team/tasks', { task_id: 't1', title: 'one' });
    await okJson(a, 201, 'POST', '/v1/sessions', { session_id: 'far-session' });

    // B's own log holds it; A's data directory holds no team and no session.
    const bLog = readLog<Line>(join(bDir, 'teams', 'far-team', 'events.jsonl'));
    assert.equal(
      bLog.map((e) => e.type),
      ['team_created', 'member_joined', 'task_created'],
    );
    assert.is(bLog[0].data.goal, 'served remotely');
    assert.ok(existsSync(join(bDir, 'sessions', 'far-session', 'events.jsonl')));
    assert.not.ok(existsSync(join(aDir, 'teams')), "A wrote no team log");
    assert.not.ok(existsSync(join(aDir, 'sessions')), 'A wrote no session log');
    assert.is(a.pipeline.readModels.teams.size, 0);

    // Reads through A and straight from B agree.
    const viaA = await okJson(a, 200, 'GET', '/v1/teams/far-team');
    const fromB = await direct(b, 'GET', '/v1/teams/far-team');
    assert.is(fromB.status, 200);
    assert.equal(viaA, fromB.json);
    assert.equal(
      (await okJson(a, 200, 'GET', '/v1/teams')).teams.map((t: { team_id: string }) => t.team_id),
      ['far-team'],
    );
    // Refusals come back as B gave them, and count as successes of the remote (B answered).
    const conflict = await call(a, 'POST', '/v1/teams', { id: 'far-team', name: 'Again', lead: { name: 'L' } });
    assert.is(conflict.status, 409);
    assert.is(conflict.json.error, 'conflict');

    // The posture through A: B's teams under A's config and A's view of the remote's health, host only.
    const posture = await okJson(a, 200, 'GET', '/v1/teams/posture');
    assert.is(posture.team_count, 1);
    assert.equal(
      posture.teams.map((t: { team_id: string }) => t.team_id),
      ['far-team'],
    );
    const host = new URL(b.url).host;
    assert.is(posture.config.remote_host, host);
    assert.is(posture.remote.host, host);
    assert.is(posture.remote_degraded, false);
    assert.not.match(JSON.stringify(posture.config), /http:/);
    const health = await okJson(a, 200, 'GET', '/v1/teams/remote');
    assert.equal([health.configured, health.host, health.degraded, health.consecutive_failures, health.total_failures], [true, host, false, 0, 0]);
    assert.equal(remoteLog(aDir), [], 'no failure, nothing recorded');
  }));

test('a wrong token on the remote is a clear auth error (502 remote_unauthorized naming the token) and counts as a failure of kind auth', () =>
  withPair({ token: 'not-the-remote-token-000' }, async ({ a, aDir, bDir }) => {
    const res = await call(a, 'POST', '/v1/teams', { id: 'denied', name: 'Denied', lead: { name: 'L' } });
    assert.is(res.status, 502);
    assert.is(res.json.error, 'remote_unauthorized');
    assert.match(res.json.message, /token/);
    assert.not.match(res.json.message, /not-the-remote-token-000/, 'the token itself is never echoed');
    assert.not.ok(existsSync(join(bDir, 'teams')), 'B refused it: nothing written there');
    assert.equal(
      remoteLog(aDir).map((e) => [e.type, e.data.kind, e.data.consecutive]),
      [['remote_failed', 'auth', 1]],
    );
    const health = await okJson(a, 200, 'GET', '/v1/teams/remote');
    assert.equal([health.consecutive_failures, health.last_failure_kind, health.degraded], [1, 'auth', false]);

    // Three in a row degrade the remote like any other failure.
    await call(a, 'GET', '/v1/teams');
    await call(a, 'GET', '/v1/teams');
    assert.equal(
      remoteLog(aDir).map((e) => e.type),
      ['remote_failed', 'remote_failed', 'remote_failed', 'remote_degraded'],
    );
    assert.equal(remoteLog(aDir).at(-1)!.data.reason, 'auth');
  }));

test.run();
