import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, closedPort, runBmoCli, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { ok, withBmo } from './support.js';

const TEAM_READS = [
  '/v1/teams/alpha',
  '/v1/teams/alpha/tasks',
  '/v1/teams/alpha/tasks?ready=true',
  '/v1/teams/alpha/tasks/t1',
  '/v1/teams/alpha/members/bob',
  '/v1/teams/alpha/members/bob/inbox',
  '/v1/teams/alpha/members/lead/inbox?unread=true',
  '/v1/teams/posture',
];

/** Every read's live answer (status and body) right after a step, under the head it was read at. */
async function capture(bmo: Bmo, urls: string[]) {
  const pos = bmo.pipeline.store.head();
  const answers: Record<string, { status: number; body: unknown }> = {};
  for (const url of urls) {
    const res = await call(bmo, 'GET', url);
    answers[url] = { status: res.status, body: res.json ?? res.body };
  }
  return { pos, answers };
}

const withAsOf = (url: string, pos: number) => `${url}${url.includes('?') ? '&' : '?'}as_of=${pos}`;

async function assertAsOfEqualsLive(bmo: Bmo, captured: Awaited<ReturnType<typeof capture>>[]) {
  for (const { pos, answers } of captured) {
    for (const [url, live] of Object.entries(answers)) {
      const past = await call(bmo, 'GET', withAsOf(url, pos));
      assert.is(past.status, live.status, `${url} as of ${pos}: ${past.body}`);
      if (live.status !== 200) continue;
      if (past.json) assert.equal(past.json, live.body, `${url} as of ${pos}`);
      else {
        // A past handoff in markdown says so under its title; the rest is the live one's.
        const note = `> As it was at pos ${pos}, not as it is now.\n\n`;
        assert.ok(past.body.includes(note), `${url} as of ${pos} says it is past`);
        assert.is(past.body.replace(note, ''), live.body, `${url} as of ${pos}`);
      }
    }
  }
}

test('a team read as of a pos equals the live answer captured at that pos, through to its removal', () =>
  withBmo(async (bmo) => {
    const steps: [string, string, unknown][] = [
      ['POST', '/v1/sessions', { session_id: 'lead-s', agent: 'test' }],
      ['POST', '/v1/sessions', { session_id: 'bob-s', agent: 'test' }],
      ['POST', '/v1/teams', { id: 'alpha', name: 'Alpha', goal: 'ship', lead: { member_id: 'lead', name: 'Lead', session_id: 'lead-s' } }],
      ['POST', '/v1/teams/alpha/members', { member_id: 'bob', name: 'Bob', session_id: 'bob-s' }],
      ['POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' }],
      ['POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'second', blocked_by: ['t1'] }],
      ['POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'bob' }],
      ['POST', '/v1/teams/alpha/messages', { message_id: 'm1', from: 'bob', to: 'lead', body: 'on it' }],
      ['POST', '/v1/teams/alpha/messages', { message_id: 'm2', from: 'lead', to: '*', body: 'thanks' }],
      ['POST', '/v1/teams/alpha/messages/m2/read', { member_id: 'bob' }],
      ['PATCH', '/v1/teams/alpha/tasks/t1', { note: 'halfway' }],
      ['POST', '/v1/teams/alpha/tasks/t1/complete', { member_id: 'bob', fencing_token: 1, result: 'done' }],
      ['POST', '/v1/sessions/bob-s/heartbeat', {}],
      ['DELETE', '/v1/teams/alpha/members/bob', {}],
      ['POST', '/v1/teams/alpha/shutdown', {}],
      ['DELETE', '/v1/teams/alpha', undefined],
    ];
    const captured = [];
    for (const [method, url, body] of steps) {
      const res = await call(bmo, method, url, body);
      assert.ok(res.status < 300, `${method} ${url} → ${res.status} ${res.body}`);
      captured.push(await capture(bmo, TEAM_READS));
    }
    assert.is(captured.at(-1)!.answers['/v1/teams/alpha'].status, 404, 'live, the team is removed');
    await assertAsOfEqualsLive(bmo, captured);

    const head = bmo.pipeline.store.head();
    const beyond = await call(bmo, 'GET', `/v1/teams/alpha?as_of=${head + 1}`);
    assert.equal([beyond.status, beyond.json.field], [400, 'query.as_of']);
    assert.match(beyond.json.message, `beyond the head of the log (${head})`);
    const before = await call(bmo, 'GET', '/v1/teams/alpha/tasks?as_of=2');
    assert.equal([before.status, before.json.field], [404, 'query.as_of']);
    assert.match(before.json.message, 'did not exist yet at pos 2');
    for (const bad of ['0', 'abc', '12x', '2026-13-45']) {
      const res = await call(bmo, 'GET', `/v1/teams/posture?as_of=${bad}`);
      assert.equal([res.status, res.json.field], [400, 'query.as_of'], bad);
    }
    const future = await call(bmo, 'GET', `/v1/teams/alpha?as_of=${new Date(Date.now() + 3_600_000).toISOString()}`);
    assert.equal([future.status, future.json.field], [400, 'query.as_of']);
    const longAgo = await call(bmo, 'GET', '/v1/teams/alpha?as_of=2020-01-01T00:00:00Z');
    assert.equal([longAgo.status, longAgo.json.field], [404, 'query.as_of']);
    const never = await call(bmo, 'GET', '/v1/teams/nope?as_of=3');
    assert.equal([never.status, never.json.field], [404, 'id']);
  }),
);

test('a time maps to the last pos at or before it', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'Lead' } });
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const live = await ok(bmo, 200, 'GET', '/v1/teams/alpha');
    const posture = await ok(bmo, 200, 'GET', '/v1/teams/posture');
    const now = new Date().toISOString();
    assert.equal((await ok(bmo, 200, 'GET', `/v1/teams/alpha?as_of=${now}`)).json, live.json);
    assert.equal((await ok(bmo, 200, 'GET', `/v1/teams/posture?as_of=${now}`)).json.teams, posture.json.teams);
  }),
);

test('an as_of is refused, never ignored, where the answer is of now; a member or task not there yet at the point says so', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: 'lead-s', agent: 'test' });
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { member_id: 'lead', name: 'Lead', session_id: 'lead-s' } });
    const before = bmo.pipeline.store.head();
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/members', { member_id: 'bob', name: 'Bob' });
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    for (const url of ['/v1/teams/alpha/members?as_of=1', '/v1/sessions/lead-s?as_of=1', '/v1/sessions/lead-s?as_of=abc']) {
      const res = await call(bmo, 'GET', url);
      assert.equal([res.status, res.json.error], [400, 'bad_request'], `${url}: ${res.body}`);
      assert.match(res.json.field, /^query/, url);
    }
    assert.match((await call(bmo, 'GET', '/v1/teams/alpha/members?as_of=1')).json.message, '/v1/teams/alpha?as_of=');
    for (const [url, what] of [
      [`/v1/teams/alpha/members/bob?as_of=${before}`, 'member bob'],
      [`/v1/teams/alpha/members/bob/inbox?as_of=${before}`, 'member bob'],
      [`/v1/teams/alpha/tasks/t1?as_of=${before}`, 'task t1'],
    ]) {
      const res = await call(bmo, 'GET', url);
      assert.equal([res.status, res.json.field], [404, 'query.as_of'], url);
      assert.match(res.json.message, `${what} was not in team alpha yet at pos ${before}; ask for a later point`);
    }
    const never = await call(bmo, 'GET', `/v1/teams/alpha/members/carol?as_of=${before}`);
    assert.equal([never.status, never.json.field], [404, 'member'], 'never a member: the member is what is wrong');
    const zoneless = await call(bmo, 'GET', '/v1/teams/alpha?as_of=2026-01-01T10:00:00');
    assert.equal([zoneless.status, zoneless.json.error, zoneless.json.field], [400, 'bad_request', 'query.as_of']);
    assert.match(zoneless.json.message, 'has no time zone; add Z for UTC (2026-01-01T10:00:00Z)');
    const noSuchDay = await call(bmo, 'GET', '/v1/teams/alpha?as_of=2026-02-30T00:00:00Z');
    assert.equal([noSuchDay.status, noSuchDay.json.field], [400, 'query.as_of'], 'not rolled over into March');
    assert.match(noSuchDay.json.message, '2026-02-30 is not a day on the calendar');
    // A misspelt as_of is refused where as_of is the only parameter, never answered as if live.
    for (const url of ['/v1/teams/alpha?asof=1', '/v1/teams/alpha/tasks/t1?as-of=1', '/v1/teams/alpha/members/bob?asof=1', '/v1/teams/posture?asof=1']) {
      const res = await call(bmo, 'GET', url);
      assert.equal([res.status, res.json.error], [400, 'bad_request'], url);
      assert.match(res.json.message, 'unknown field', url);
    }
  }),
);

const WORKSTREAM_READS = ['/v1/workstreams/w1', '/v1/workstreams/w1/status', '/v1/workstreams/w1/handoff', '/v1/workstreams/w1/handoff?format=md'];

test('a workstream, its status and its handoff as of a pos equal the live answers captured then', () =>
  withBmo(async (bmo) => {
    const run = (exit: number) => ({ argv: ['npm', 'test'], cwd: '/src', exit_code: exit, signal: null, duration_ms: 1200, output_tail: 'tail', truncated: false });
    const steps: [string, string, unknown][] = [
      ['POST', '/v1/workstreams', { id: 'w1', label: 'docs/coverage' }],
      ['POST', '/v1/workstreams', { id: 'w2', label: 'other' }],
      ['POST', '/v1/workstreams/w1/plan', { path: 'docs/plan.md', kind: 'custom' }],
      ['POST', '/v1/workstreams/w1/verify-runs', run(1)],
      ['POST', '/v1/workstreams/w2/verify-runs', run(1)],
      ['POST', '/v1/workstreams/w1/findings', { severity: 'high', path: 'src/a.ts', text: 'flaky' }],
      ['POST', '/v1/workstreams/w1/markers', { path: 'src/a.ts', note: 'look here' }],
      ['POST', '/v1/workstreams/w1/verify-runs', run(0)],
      ['POST', '/v1/workstreams/w1/status', { status: 'completed', reason: 'green', force: true }],
    ];
    const captured = [];
    for (const [method, url, body] of steps) {
      const res = await call(bmo, method, url, body);
      assert.ok(res.status < 300, `${method} ${url} → ${res.status} ${res.body}`);
      captured.push(await capture(bmo, WORKSTREAM_READS));
    }
    await assertAsOfEqualsLive(bmo, captured);
    const before = await call(bmo, 'GET', '/v1/workstreams/w2/status?as_of=1');
    assert.equal([before.status, before.json.field], [404, 'query.as_of']);
  }),
);

test('bmo team status and workstream status --as-of show the entity as it was', async () => {
  const tmp = tempDir();
  const dataDir = join(tmp.dir, 'data');
  try {
    const bmo = await startTestBmo(dataDir);
    try {
      await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'Lead' } });
      await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
      await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w1', label: 'docs' });
      await ok(bmo, 200, 'POST', '/v1/workstreams/w1/status', { status: 'blocked', reason: 'waiting' });
    } finally {
      await bmo.close();
    }
    writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
    const env = { BMO_TOKEN: TOKEN, BMO_PORT: String(await closedPort()) };
    const team = await runBmoCli(['team', 'status', 'alpha', '--as-of', '2', '--data-dir', dataDir], tmp.dir, env);
    assert.is(team.code, 0, team.stderr);
    assert.match(team.stdout, 'team alpha "Alpha" (active, version 2, lead lead) as of 2');
    assert.match(team.stdout, 'tasks\n  none');
    const ws = await runBmoCli(['workstream', 'status', 'w1', '--as-of', '4', '--json', '--data-dir', dataDir], tmp.dir, env);
    assert.is(ws.code, 0, ws.stderr);
    assert.equal([JSON.parse(ws.stdout).status, JSON.parse(ws.stdout).version], ['active', 1]);
    const wsText = await runBmoCli(['workstream', 'status', 'w1', '--as-of', '4', '--data-dir', dataDir], tmp.dir, env);
    assert.match(wsText.stdout.split('\n')[0], / as of 4$/, wsText.stdout);
    const shown = await runBmoCli(['workstream', 'show', 'w1', '--as-of', '4', '--json', '--data-dir', dataDir], tmp.dir, env);
    assert.equal([JSON.parse(shown.stdout).status, JSON.parse(shown.stdout).version], ['active', 1], shown.stderr);
    const handoff = await runBmoCli(['workstream', 'handoff', 'w1', '--as-of', '4', '--data-dir', dataDir], tmp.dir, env);
    assert.match(handoff.stdout, '> As it was at pos 4, not as it is now.', handoff.stderr);
    assert.match(handoff.stdout, 'status: **active**');
    const posture = await runBmoCli(['team', 'posture', '--as-of', '2', '--json', '--data-dir', dataDir], tmp.dir, env);
    assert.equal(JSON.parse(posture.stdout).teams[0].tasks.ready, 0, posture.stderr);
    const bad = await runBmoCli(['team', 'status', 'alpha', '--as-of', 'yesterday', '--data-dir', dataDir], tmp.dir, env);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, '--as-of must be a position');
    const beyond = await runBmoCli(['team', 'status', 'alpha', '--as-of', '99', '--data-dir', dataDir], tmp.dir, env);
    assert.is(beyond.code, 2, beyond.stderr);
    assert.match(beyond.stderr, '--as-of: pos 99 is beyond the head of the log (5)');
    // A time without a zone is the CLI user's local time: in Tokyo, now there is now, not nine hours ahead.
    const tokyoNow = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 19);
    const local = await runBmoCli(['team', 'status', 'alpha', '--as-of', tokyoNow, '--data-dir', dataDir], tmp.dir, { ...env, TZ: 'Asia/Tokyo' });
    assert.is(local.code, 0, local.stderr);
    assert.match(local.stdout, 'team alpha "Alpha" (active, version 3, lead lead)', local.stdout);
  } finally {
    tmp.cleanup();
  }
});

test.run();
