import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { call, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

interface Frame {
  pos: number;
  stream?: string;
  op?: string;
  name?: string;
  state?: { teams: { team_id: string }[]; recent: { team_id?: string }[] };
}

interface Client {
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Subscribes with `token`; records every frame. */
async function subscribe(bmo: Bmo, token: string, query: string): Promise<Client> {
  const ws = new WebSocket(`${bmo.url!.replace(/^http/, 'ws')}/v1/stream?${query}`, { headers: { authorization: `Bearer ${token}` } });
  const client: Client = { frames: [], closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))) };
  ws.on('message', (data) => client.frames.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

async function must(bmo: Bmo, status: number, method: string, url: string, body?: unknown) {
  const res = await call(bmo, method, url, body);
  assert.is(res.status, status, `${method} ${url}: ${res.body}`);
  return res.json;
}

test('two agents in two teams: each one sees only its team on the stream and in its posture; a revoked one is closed with 4003', async () => {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, { listen: true });
  try {
    for (const [team, member] of [['a', 'ann'], ['b', 'bob']]) {
      await must(bmo, 201, 'POST', '/v1/teams', { id: team, name: team, lead: { member_id: 'lead', name: 'Lead' } });
      await must(bmo, 201, 'POST', `/v1/teams/${team}/members`, { member_id: member, name: member });
    }
    const ann = await must(bmo, 201, 'POST', '/v1/credentials', { name: 'ann', role: 'agent', member_id: 'ann', teams: ['a'] });
    const bob = await must(bmo, 201, 'POST', '/v1/credentials', { name: 'bob', role: 'agent', member_id: 'bob', teams: ['b'] });
    const annStream = await subscribe(bmo, ann.token, 'from=0&filter=*&projections=posture');
    const bobStream = await subscribe(bmo, bob.token, 'from=0&filter=teams/a,teams/b');
    for (const team of ['a', 'b']) await must(bmo, 201, 'POST', `/v1/teams/${team}/tasks`, { task_id: `t-${team}`, title: team });
    await must(bmo, 201, 'POST', '/v1/workstreams', { id: 'ws', label: 'elsewhere' });
    const last = (await must(bmo, 201, 'POST', '/v1/teams/a/tasks', { task_id: 'last', title: 'last' })).pos as number;
    const lastB = (await must(bmo, 201, 'POST', '/v1/teams/b/tasks', { task_id: 'last', title: 'last' })).pos as number;
    await until(() => annStream.frames.some((f) => f.pos === last && !f.op), 'ann gets the last event of team a');
    await until(() => bobStream.frames.some((f) => f.pos === lastB && !f.op), 'bob gets the last event of team b');

    const streams = (client: Client) => [...new Set(client.frames.filter((f) => !f.op).map((f) => f.stream))];
    assert.equal(streams(annStream), ['teams/a']);
    assert.equal(streams(bobStream), ['teams/b']);
    assert.is(annStream.frames.filter((f) => f.stream === 'teams/a').length, 5);
    const posture = annStream.frames.filter((f) => f.op === 'projection').at(-1)!;
    assert.equal(posture.state!.teams.map((t) => t.team_id), ['a']);
    assert.ok(posture.state!.recent.every((e) => e.team_id === 'a'), JSON.stringify(posture.state!.recent));

    await must(bmo, 200, 'DELETE', `/v1/credentials/${ann.credential_id}`, { reason: 'rotated' });
    const closed = await annStream.closed;
    assert.is(closed.code, 4003);
    assert.match(closed.reason, new RegExp(`credential ${ann.credential_id} was revoked`));
    // bob's socket is still open: it gets what comes next.
    const next = (await must(bmo, 201, 'POST', '/v1/teams/b/tasks', { title: 'after' })).pos as number;
    await until(() => bobStream.frames.some((f) => f.pos === next), 'bob still streams');
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test('a credential that expires while its stream is open is closed with 4003 at the next ping', async () => {
  const tmp = tempDir();
  const clock = new TestClock('2026-03-01T00:00:00Z');
  const bmo = await startTestBmo(tmp.dir, { listen: true, clock, overrides: { stream: { ping_interval_ms: 3_600_000 } } });
  // The pings run on the test clock: the first one falls due as the credential expires.
  try {
    const eye = await must(bmo, 201, 'POST', '/v1/credentials', { name: 'page', role: 'observer', expires_in: '1h' });
    const client = await subscribe(bmo, eye.token, 'from=0');
    await until(() => client.frames.some((f) => f.op === 'caught_up'), 'caught up');
    await clock.advance(3600_000);
    const closed = await client.closed;
    assert.is(closed.code, 4003);
    assert.match(closed.reason, /expired at 2026-03-01T01:00:00.000Z/);
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test.run();
