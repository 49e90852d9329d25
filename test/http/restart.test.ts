import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, spawnServer, startTestBmo, TOKEN, type ServerProcess } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

interface Answer {
  status: number;
  etag?: string;
  json: unknown;
}

/** A way to send one request: in-process (`inject`) or over a real socket (`fetch`). */
type Send = (method: string, url: string, body?: unknown) => Promise<Answer>;

const viaInject =
  (bmo: Bmo): Send =>
  async (method, url, body) => {
    const res = await call(bmo, method, url, body);
    return { status: res.status, etag: res.headers.etag as string | undefined, json: res.json };
  };

const viaFetch =
  (server: ServerProcess): Send =>
  async (method, url, body) => {
    const res = await fetch(server.url + url, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, etag: res.headers.get('etag') ?? undefined, json: await res.json() };
  };

/**
 * Two live teams and a removed one: members (one left), tasks with dependencies (completed,
 * claimed, blocked, ready, failed, released), messages direct and broadcast, read and unread,
 * a shut-down team. Every write must be acknowledged with a 2xx.
 */
async function buildState(send: Send): Promise<void> {
  const steps: [string, string, unknown?][] = [
    ['POST', '/v1/teams', { id: 'zulu', name: 'Zulu', goal: 'created first', lead: { member_id: 'zed', name: 'Zed' } }],
    ['POST', '/v1/teams', { id: 'alpha', name: 'Alpha', goal: 'ship the ledger', lead: { member_id: 'lead', name: 'Lead' } }],
    ['POST', '/v1/teams', { id: 'gone', name: 'Gone', lead: { name: 'Lead' } }],
    ['POST', '/v1/teams', { id: 'mike', name: 'Mike', lead: { name: 'Lead' } }],
    ['POST', '/v1/teams/alpha/members', { member_id: 'ann', name: 'Ann' }],
    ['POST', '/v1/teams/alpha/members', { member_id: 'bob', name: 'Bob' }],
    ['POST', '/v1/teams/alpha/members', { member_id: 'cy', name: 'Cy' }],
    ['POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'design', description: 'the envelope' }],
    ['POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'build', blocked_by: ['t1'] }],
    ['POST', '/v1/teams/alpha/tasks', { task_id: 't3', title: 'test', blocked_by: ['t1', 't2'] }],
    ['POST', '/v1/teams/alpha/tasks', { task_id: 't4', title: 'docs' }],
    ['POST', '/v1/teams/alpha/tasks', { task_id: 't5', title: 'bench' }],
    ['POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' }],
    ['POST', '/v1/teams/alpha/tasks/t1/complete', { member_id: 'ann', fencing_token: 1, result: 'done' }],
    ['POST', '/v1/teams/alpha/tasks/t2/claim', { member_id: 'bob', lease_ms: 3_600_000 }],
    ['PATCH', '/v1/teams/alpha/tasks/t3', { note: 'needs fixtures' }],
    ['POST', '/v1/teams/alpha/tasks/t5/claim', { member_id: 'cy' }],
    ['POST', '/v1/teams/alpha/tasks/t5/fail', { member_id: 'cy', fencing_token: 3, error: 'no machine' }],
    ['POST', '/v1/teams/alpha/tasks/t4/claim', { member_id: 'cy' }],
    ['POST', '/v1/teams/alpha/tasks/t4/release', { member_id: 'cy', fencing_token: 4 }],
    ['POST', '/v1/teams/alpha/messages', { message_id: 'm1', from: 'ann', to: 'bob', body: 'review t1?' }],
    ['POST', '/v1/teams/alpha/messages', { message_id: 'm2', from: 'lead', to: '*', body: 'standup' }],
    ['POST', '/v1/teams/alpha/messages', { message_id: 'm3', from: 'bob', to: 'ann', body: 'on it' }],
    ['POST', '/v1/teams/alpha/messages/m1/read', { member_id: 'bob' }],
    ['POST', '/v1/teams/alpha/messages/m2/read', { member_id: 'bob' }],
    ['DELETE', '/v1/teams/alpha/members/cy', { reason: 'moved on' }],
    ['POST', '/v1/teams/zulu/members', { member_id: 'yan', name: 'Yan' }],
    ['POST', '/v1/teams/zulu/tasks', { task_id: 'z1', title: 'only task' }],
    ['POST', '/v1/teams/zulu/tasks/z1/claim', { member_id: 'yan' }],
    ['POST', '/v1/teams/zulu/messages', { message_id: 'zm1', from: 'zed', to: '*', body: 'hello zulu' }],
    ['POST', '/v1/teams/gone/tasks', { task_id: 'g1', title: 'never done' }],
    ['DELETE', '/v1/teams/gone'],
    ['POST', '/v1/teams/mike/shutdown', { reason: 'paused' }],
  ];
  for (const [method, url, body] of steps) {
    const res = await send(method, url, body);
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${url} → ${res.status} ${JSON.stringify(res.json)}`);
  }
}

const MEMBERS: Record<string, string[]> = { alpha: ['lead', 'ann', 'bob', 'cy'], zulu: ['zed', 'yan'], mike: ['lead'] };

/** Every GET route of the teams surface, answered: what a restart must give back unchanged. */
async function readEverything(send: Send): Promise<Record<string, Answer>> {
  const urls = ['/v1/teams', '/v1/teams?all=true', '/v1/teams/posture', '/v1/teams/events/recent', '/v1/teams/events/recent?limit=256'];
  for (const id of ['alpha', 'zulu', 'mike', 'gone']) {
    urls.push(`/v1/teams/${id}`, `/v1/teams/${id}/tasks`, `/v1/teams/${id}/tasks?ready=true`, `/v1/teams/${id}/events`, `/v1/teams/${id}/events?from_seq=3`);
  }
  for (const task of ['t1', 't2', 't3', 't4', 't5']) urls.push(`/v1/teams/alpha/tasks/${task}`);
  for (const [id, members] of Object.entries(MEMBERS)) {
    for (const member of members) urls.push(`/v1/teams/${id}/members/${member}/inbox`, `/v1/teams/${id}/members/${member}/inbox?unread=true`);
  }
  const out: Record<string, Answer> = {};
  for (const url of urls) out[url] = await send('GET', url);
  return out;
}

/** Sanity checks on the state read back, so that "equal after restart" cannot mean "equally empty". */
function assertStateIsTheOneBuilt(answers: Record<string, Answer>) {
  const json = (url: string) => answers[url].json as any;
  assert.equal(json('/v1/teams').teams.map((t: { team_id: string }) => t.team_id).sort(), ['alpha', 'mike', 'zulu']);
  assert.is(answers['/v1/teams/gone'].status, 404);
  assert.is(answers['/v1/teams/gone/events'].status, 200);
  assert.equal(json('/v1/teams/alpha/tasks?ready=true').tasks.map((t: { task_id: string }) => t.task_id), ['t4']);
  assert.is(json('/v1/teams/alpha/tasks/t2').owner, 'bob');
  assert.is(json('/v1/teams/alpha/tasks/t5').status, 'failed');
  assert.equal(json('/v1/teams/alpha/members/bob/inbox?unread=true').messages, []);
  assert.equal(json('/v1/teams/alpha/members/ann/inbox?unread=true').messages.map((m: { message_id: string }) => m.message_id), ['m2', 'm3']);
  assert.is(json('/v1/teams/mike').status, 'shutdown');
  assert.is(json('/v1/teams/posture').team_count, 3);
  assert.is(json('/v1/teams/events/recent?limit=256').events.length, json('/v1/teams/posture').pos);
}

function assertSameAnswers(after: Record<string, Answer>, before: Record<string, Answer>) {
  assert.equal(Object.keys(after), Object.keys(before));
  for (const url of Object.keys(before)) assert.equal(after[url], before[url], `GET ${url} changed across the restart`);
}

test('every GET answers the same after a clean restart on the same data directory', async () => {
  const tmp = tempDir();
  let bmo: Bmo | undefined;
  try {
    bmo = await startTestBmo(tmp.dir);
    await buildState(viaInject(bmo));
    const before = await readEverything(viaInject(bmo));
    assertStateIsTheOneBuilt(before);
    await bmo.close();
    bmo = undefined;

    bmo = await startTestBmo(tmp.dir);
    const after = await readEverything(viaInject(bmo));
    assertSameAnswers(after, before);
  } finally {
    await bmo?.close();
    tmp.cleanup();
  }
});

test('every GET answers the same after the server process is killed with SIGKILL once the writes were acknowledged', async () => {
  const tmp = tempDir();
  // The spawned server runs in its data directory and reads ./bmo.toml there: teams must be on.
  writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
  const dataDir = tmp.dir;
  let server: ServerProcess | undefined;
  try {
    server = await spawnServer(dataDir);
    await buildState(viaFetch(server));
    const before = await readEverything(viaFetch(server));
    assertStateIsTheOneBuilt(before);
    await server.stop('SIGKILL');
    assert.is(server.child.signalCode, 'SIGKILL');

    server = await spawnServer(dataDir);
    const after = await readEverything(viaFetch(server));
    assertSameAnswers(after, before);
  } finally {
    await server?.stop('SIGKILL');
    tmp.cleanup();
  }
});

test.run();
