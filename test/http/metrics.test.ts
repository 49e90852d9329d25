import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Bmo } from '../../src/app.js';
import { call, closedPort, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { createTeam, ok } from './support.js';

// /metrics: Prometheus text, behind the token unless [metrics] public_on_loopback lets this machine
// scrape it; its counters move with appends, requests, WebSocket clients, remote failures and reclaims.

type Samples = Map<string, number>;

/** The text format's samples, keyed `name{labels}` as written (labels in the order prom-client writes them). */
function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const value = Number(match[2]);
    assert.ok(!Number.isNaN(value), `not a number in: ${line}`);
    samples.set(match[1], value);
  }
  return samples;
}

async function scrape(bmo: Bmo): Promise<Samples> {
  const res = await call(bmo, 'GET', '/metrics');
  assert.is(res.status, 200, res.body);
  assert.match(String(res.headers['content-type']), 'text/plain');
  return parseMetrics(res.body);
}

const get = (samples: Samples, key: string) => samples.get(key) ?? 0;

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function withBmo(fn: (bmo: Bmo) => Promise<void>, overrides: Record<string, unknown> = {}, listen = false) {
  const tmp = tempDir('bmo-metrics-');
  const bmo = await startTestBmo(tmp.dir, { overrides, listen });
  try {
    await fn(bmo);
  } finally {
    await bmo.close().catch(() => {});
    tmp.cleanup();
  }
}

test('/metrics needs the token, unless public_on_loopback opens it to this machine only', async () => {
  await withBmo(async (bmo) => {
    const res = await bmo.server.inject({ method: 'GET', url: '/metrics' });
    assert.is(res.statusCode, 401);
    assert.is(res.json().error, 'unauthorized');
    // An observer reads it; an agent does not.
    const observer = (await ok(bmo, 201, 'POST', '/v1/credentials', { name: 'grafana', role: 'observer' })).json.token;
    const agent = (await ok(bmo, 201, 'POST', '/v1/credentials', { name: 'bob', role: 'agent', member_id: 'bob' })).json.token;
    assert.is((await bmo.server.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${observer}` } })).statusCode, 200);
    const refused = await bmo.server.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${agent}` } });
    assert.is(refused.statusCode, 403);
    assert.match(refused.json().message, 'observer or admin');
  });
  await withBmo(
    async (bmo) => {
      const local = await bmo.server.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
      assert.is(local.statusCode, 200);
      const mapped = await bmo.server.inject({ method: 'GET', url: '/metrics', remoteAddress: '::ffff:127.0.0.1' });
      assert.is(mapped.statusCode, 200);
      const remote = await bmo.server.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
      assert.is(remote.statusCode, 401, 'another machine still needs the token');
      const withToken = await bmo.server.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.is(withToken.statusCode, 200);
    },
    { metrics: { public_on_loopback: true } },
  );
});

test('appends move the append, fdatasync and per-type counters; requests are counted by route pattern', async () => {
  await withBmo(async (bmo) => {
    const before = await scrape(bmo);
    assert.ok(before.has('bmo_replay_seconds'), 'the replay duration is there from the start');
    assert.is(get(before, 'bmo_projection_lag'), 0);
    await createTeam(bmo, 'alpha', ['bob']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'one' });
    await ok(bmo, 404, 'GET', '/v1/teams/nope');
    const after = await scrape(bmo);
    // create (2 events), join (1), task (1): three acknowledged appends, four events.
    assert.is(get(after, 'bmo_appends_total') - get(before, 'bmo_appends_total'), 3);
    assert.is(get(after, 'bmo_events_appended_total{type="member_joined"}'), 2);
    assert.is(get(after, 'bmo_events_appended_total{type="task_created"}'), 1);
    assert.ok(get(after, 'bmo_fdatasync_seconds_count') >= 1, 'each append waited for a sync');
    assert.is(get(after, 'bmo_events_per_fdatasync_sum'), 4, 'every event committed went through a counted sync');
    assert.is(get(after, 'bmo_append_ack_seconds_count'), 3);
    assert.is(get(after, 'bmo_log_head_pos'), bmo.pipeline.store.head());
    assert.is(get(after, 'bmo_projection_lag'), 0);
    assert.is(get(after, 'bmo_http_requests_total{method="POST",route="/v1/teams/:id/members",status="201"}'), 1);
    assert.is(get(after, 'bmo_http_requests_total{method="GET",route="/v1/teams/:id",status="404"}'), 1, 'the route pattern, not the id');
    assert.not.ok([...after.keys()].some((key) => key.includes('alpha')), 'no id in a label');
  });
});

test('WebSocket clients, bytes in flight and closes by code', async () => {
  await withBmo(
    async (bmo) => {
      const ws = new WebSocket(`${bmo.url!.replace('http', 'ws')}/v1/stream?from=0`, { headers: { authorization: `Bearer ${TOKEN}` } });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      await until(async () => get(await scrape(bmo), 'bmo_ws_clients') === 1, 'one client counted');
      assert.ok((await scrape(bmo)).has('bmo_ws_bytes_in_flight'));
      const bad = new WebSocket(`${bmo.url!.replace('http', 'ws')}/v1/stream?from=abc`, { headers: { authorization: `Bearer ${TOKEN}` } });
      await new Promise((resolve) => bad.once('close', resolve));
      ws.close(1000);
      await until(async () => get(await scrape(bmo), 'bmo_ws_clients') === 0, 'the client gone');
      const samples = await scrape(bmo);
      assert.is(get(samples, 'bmo_ws_closes_total{code="4000"}'), 1, 'the refused subscription');
      assert.is(get(samples, 'bmo_ws_closes_total{code="1000"}'), 1, 'the client that said goodbye');
    },
    {},
    true,
  );
});

test('remote failures count and the degraded gauge flips after three', async () => {
  const port = await closedPort();
  await withBmo(
    async (bmo) => {
      for (let i = 0; i < 3; i++) assert.is((await call(bmo, 'GET', '/v1/teams')).status, 502);
      const samples = await scrape(bmo);
      assert.is(get(samples, 'bmo_remote_failures_total'), 3);
      assert.is(get(samples, 'bmo_remote_degraded'), 1);
    },
    { options: { teams: { server_url: `http://127.0.0.1:${port}`, timeout_ms: 1000 } } },
  );
});

test('a lapsed lease counts as reclaimed', async () => {
  await withBmo(
    async (bmo) => {
      await createTeam(bmo, 'beta', ['bob']);
      await ok(bmo, 201, 'POST', '/v1/teams/beta/tasks', { task_id: 't1', title: 'one' });
      await ok(bmo, 200, 'POST', '/v1/teams/beta/tasks/t1/claim', { member_id: 'bob', lease_ms: 1000 });
      await until(async () => get(await scrape(bmo), 'bmo_leases_reclaimed_total') === 1, 'the sweeper to reclaim the claim');
    },
    { sessions: { sweep_interval_ms: 20 } },
  );
});

test.run();
