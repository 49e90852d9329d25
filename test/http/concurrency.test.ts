import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { teamEntity } from '../../src/domain/teams.js';
import { call, ok, startTestBmo, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { createTeam, eventTypes, storeState } from './support.js';

const count = (types: string[], type: string) => types.filter((t) => t === type).length;

test('If-Match with a stale version is 409 version_conflict and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const read = await ok(bmo, 200, 'GET', '/v1/teams/alpha');
    assert.is(read.headers.etag, '"3"');
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'someone else was faster' });

    const before = storeState(bmo, dir, ['teams/alpha']);
    const stale = await call(bmo, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'mine' }, { 'if-match': read.headers.etag as string });
    assert.is(stale.status, 409);
    assert.is(stale.json.error, 'version_conflict');
    assert.match(stale.json.message, /teams\/alpha is at version 4, not 3/);
    assert.equal(stale.json.details, { stream: 'teams/alpha', expected: 3, actual: 4 });
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('If-Match with the current version succeeds and the answer carries the new ETag', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const read = await ok(bmo, 200, 'GET', '/v1/teams/alpha');
    const write = await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'mine' }, { 'if-match': read.headers.etag as string });
    assert.is(write.headers.etag, '"4"');
    assert.is(write.json.version, 4);
    const next = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' }, { 'if-match': 'W/"4"' });
    assert.is(next.headers.etag, '"5"', 'a weak ETag is accepted too');
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams/alpha')).headers.etag, '"5"');
  }),
);

test('If-Match: 0 creates a team only if it does not exist yet', () =>
  withBmo(async (bmo, dir) => {
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'L' } }, { 'if-match': '0' });
    const before = storeState(bmo, dir, ['teams/alpha']);
    const again = await call(bmo, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'L' } }, { 'if-match': '0' });
    assert.is(again.status, 409);
    assert.is(again.json.error, 'version_conflict');
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('the same Idempotency-Key twice appends one event and answers with the identical body', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const headers = { 'idempotency-key': 'send-hello-1' };
    const body = { from: 'ann', to: 'lead', body: 'hello' };
    const first = await ok(bmo, 201, 'POST', '/v1/teams/alpha/messages', body, headers);
    const retry = await ok(bmo, 201, 'POST', '/v1/teams/alpha/messages', body, headers);
    assert.is(retry.body, first.body);
    assert.is(retry.headers.etag, first.headers.etag);
    assert.is(first.json.events[0].meta.idempotency_key, 'send-hello-1');
    assert.is(count(await eventTypes(bmo, 'alpha'), 'message_sent'), 1);
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams/alpha/members/lead/inbox')).json.messages.length, 1);
  }),
);

test('a retried create with a server-generated id answers with the id it created', () =>
  withBmo(async (bmo) => {
    const headers = { 'idempotency-key': 'create-anon-team' };
    const body = { name: 'Anon', lead: { name: 'Lead' } };
    const first = await ok(bmo, 201, 'POST', '/v1/teams', body, headers);
    const retry = await ok(bmo, 201, 'POST', '/v1/teams', body, headers);
    assert.is(retry.json.team_id, first.json.team_id);
    assert.is(retry.body, first.body);
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams')).json.teams.length, 1);

    const teamId = first.json.team_id as string;
    for (const [url, payload, field] of [
      [`/v1/teams/${teamId}/members`, { name: 'Ann' }, 'member_id'],
      [`/v1/teams/${teamId}/tasks`, { title: 'a task' }, 'task_id'],
      [`/v1/teams/${teamId}/messages`, { from: 'lead', to: '*', body: 'hi' }, 'message_id'],
    ] as const) {
      const key = { 'idempotency-key': `retry-${field}` };
      const a = await ok(bmo, 201, 'POST', url, payload, key);
      const b = await ok(bmo, 201, 'POST', url, payload, key);
      assert.is(b.json[field], a.json[field], `${url}: the retry names the ${field} that was created`);
      assert.is(b.body, a.body);
    }
    assert.equal(await eventTypes(bmo, teamId), ['team_created', 'member_joined', 'member_joined', 'task_created', 'message_sent']);

    // A session too (workstreams have their own test): the retry names the session that was started.
    const session = { 'idempotency-key': 'retry-session_id' };
    const a = await ok(bmo, 201, 'POST', '/v1/sessions', { agent: 'x' }, session);
    const b = await ok(bmo, 201, 'POST', '/v1/sessions', { agent: 'x' }, session);
    assert.is(b.json.session_id, a.json.session_id);
    assert.is(b.body, a.body);
    await ok(bmo, 200, 'GET', `/v1/sessions/${a.json.session_id}`);
  }),
);

test('the same Idempotency-Key with a different body is 422 and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const headers = { 'idempotency-key': 'task-key' };
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' }, headers);
    const before = storeState(bmo, dir, ['teams/alpha', 'teams/beta']);
    const other = await call(bmo, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'second' }, headers);
    assert.is(other.status, 422);
    assert.is(other.json.error, 'idempotency_mismatch');
    assert.match(other.json.message, /Idempotency-Key "task-key" was already used for a different request/);
    const otherRoute = await call(bmo, 'POST', '/v1/teams', { id: 'beta', name: 'Beta', lead: { name: 'L' } }, headers);
    assert.is(otherRoute.status, 422, 'the same body on another route is a different request too');
    assert.equal(storeState(bmo, dir, ['teams/alpha', 'teams/beta']), before);
  }),
);

test('a retry whose body has the same fields in another order is the same request: one event, the first answer', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const key = { 'idempotency-key': 'reordered' };
    const first = await call(bmo, 'POST', '/v1/teams/alpha/tasks', '{"task_id":"k1","title":"K","blocked_by":[]}', { ...key, 'content-type': 'application/json' });
    const retry = await call(bmo, 'POST', '/v1/teams/alpha/tasks', '{"blocked_by":[],"title":"K","task_id":"k1"}', { ...key, 'content-type': 'application/json' });
    assert.is(first.status, 201, first.body);
    assert.is(retry.status, 201, retry.body);
    assert.is(retry.body, first.body);
    assert.is(count(await eventTypes(bmo, 'alpha'), 'task_created'), 1);
  }),
);

test('concurrent retries with the same Idempotency-Key append one event and get the same answer', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const headers = { 'idempotency-key': 'burst' };
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(bmo, 'POST', '/v1/teams/alpha/messages', { from: 'ann', to: 'lead', body: 'once' }, headers)));
    assert.equal(answers.map((a) => a.status), [201, 201, 201, 201, 201]);
    for (const a of answers) assert.equal(a.json.events, answers[0].json.events);
    assert.is(count(await eventTypes(bmo, 'alpha'), 'message_sent'), 1);
  }),
);

test('commands started in the same tick with one Idempotency-Key append once (the pipeline under the routes)', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha');
    const context = { idempotencyKey: 'same-tick', requestHash: 'h' };
    const results = await Promise.all(
      ['m1', 'm2', 'm3'].map((message_id) => bmo.pipeline.execute(teamEntity, 'alpha', { type: 'send_message', message_id, from: 'lead', to: '*', body: 'x' }, context)),
    );
    assert.equal(
      results.map((events) => events.map((e) => e.seq)),
      [[3], [3], [3]],
      'every caller gets the first answer',
    );
    assert.is(count(await eventTypes(bmo, 'alpha'), 'message_sent'), 1);
  }),
);

test('idempotency and If-Match both hold across a restart', async () => {
  const tmp = tempDir();
  let bmo: Bmo | undefined = await startTestBmo(tmp.dir);
  try {
    await createTeam(bmo, 'alpha', ['ann']);
    const headers = { 'idempotency-key': 'claim-t1-by-ann' };
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const first = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' }, headers);
    const anon = await ok(bmo, 201, 'POST', '/v1/teams', { name: 'Anon', lead: { name: 'L' } }, { 'idempotency-key': 'anon' });
    await bmo.close();
    bmo = undefined;

    bmo = await startTestBmo(tmp.dir);
    const retry = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' }, headers);
    assert.is(retry.body, first.body, 'the first answer, byte for byte, from the log');
    assert.is(retry.json.fencing_token, first.json.fencing_token);
    const anonRetry = await ok(bmo, 201, 'POST', '/v1/teams', { name: 'Anon', lead: { name: 'L' } }, { 'idempotency-key': 'anon' });
    assert.is(anonRetry.body, anon.body);
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams')).json.teams.length, 2);

    const before = storeState(bmo, tmp.dir, ['teams/alpha']);
    const mismatch = await call(bmo, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann', lease_ms: 5_000 }, headers);
    assert.is(mismatch.status, 422);
    const stale = await call(bmo, 'POST', '/v1/teams/alpha/tasks', { title: 'late' }, { 'if-match': '4' });
    assert.is(stale.status, 409);
    assert.is(stale.json.details.actual, 5);
    assert.equal(storeState(bmo, tmp.dir, ['teams/alpha']), before);
    assert.is(count(await eventTypes(bmo, 'alpha'), 'task_claimed'), 1);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { title: 'on time' }, { 'if-match': '5' });
  } finally {
    await bmo?.close();
    tmp.cleanup();
  }
});

test('a retried heartbeat with the same Idempotency-Key appends nothing, renewals included, and answers as the first did, also after a restart', async () => {
  const tmp = tempDir();
  let bmo: Bmo | undefined = await startTestBmo(tmp.dir);
  const streams = ['sessions/s1', 'teams/alpha', 'teams/beta'];
  const beat = (b: Bmo, key: string, lease_ms = 30_000) => call(b, 'POST', '/v1/sessions/s1/heartbeat', { lease_ms }, { 'idempotency-key': key });
  try {
    await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: 's1', lease_ms: 60_000 });
    await createTeam(bmo, 'alpha', ['ann']);
    await createTeam(bmo, 'beta', ['ann']);
    for (const [team, task] of [['alpha', 't1'], ['alpha', 't2'], ['beta', 'b1']]) await ok(bmo, 201, 'POST', `/v1/teams/${team}/tasks`, { task_id: task, title: task });
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann', session_id: 's1' });
    await ok(bmo, 200, 'POST', '/v1/teams/beta/tasks/b1/claim', { member_id: 'ann', session_id: 's1' });

    const first = await beat(bmo, 'beat-1');
    assert.is(first.status, 200, first.body);
    assert.equal(first.json.renewed_claims.map((c: { stream: string; task_id: string }) => [c.stream, c.task_id]), [['teams/alpha', 't1'], ['teams/beta', 'b1']]);
    // The session holds one more claim now; the retry still renews nothing, not even that one.
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t2/claim', { member_id: 'ann', session_id: 's1' });

    const before = storeState(bmo, tmp.dir, streams);
    const retry = await beat(bmo, 'beat-1');
    assert.is(retry.status, 200, retry.body);
    assert.is(retry.body, first.body, 'the first answer, renewals included');
    assert.equal(storeState(bmo, tmp.dir, streams), before, 'the retry wrote nothing');
    const mismatch = await beat(bmo, 'beat-1', 40_000);
    assert.is(mismatch.status, 422);
    assert.equal(storeState(bmo, tmp.dir, streams), before);

    // Concurrent requests with one key: one heartbeat and one renewal per team between them, one answer.
    const burst = await Promise.all(Array.from({ length: 4 }, () => beat(bmo!, 'beat-2')));
    assert.equal(burst.map((r) => r.status), [200, 200, 200, 200]);
    for (const r of burst) assert.is(r.body, burst[0].body);
    assert.equal(burst[0].json.renewed_claims.map((c: { task_id: string }) => c.task_id), ['t1', 't2', 'b1']);
    assert.is(bmo.pipeline.store.head(), before.head + 4, 'session_heartbeat (naming alpha and beta), renewals of t1 and t2 (one event each) and b1: no operation');
    assert.equal([await eventTypes(bmo, 'alpha'), await eventTypes(bmo, 'beta')].map((types) => count(types, 'task_claimed')), [5, 3]);
    const second = burst[0].body;
    await bmo.close();
    bmo = undefined;

    bmo = await startTestBmo(tmp.dir);
    const settled = storeState(bmo, tmp.dir, streams);
    const afterRestart = await beat(bmo, 'beat-1');
    assert.is(afterRestart.body, first.body, 'the first answer, from the log');
    assert.is((await beat(bmo, 'beat-2')).body, second);
    assert.equal(storeState(bmo, tmp.dir, streams), settled, 'nothing written after the restart either');
  } finally {
    await bmo?.close();
    tmp.cleanup();
  }
});

test('20 concurrent claims of one task: exactly one 200 and nineteen 409s, one task_claimed', () =>
  withBmo(async (bmo) => {
    const members = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await createTeam(bmo, 'alpha', members);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 'prize', title: 'only one wins' });
    const answers = await Promise.all(members.map((member_id) => call(bmo, 'POST', '/v1/teams/alpha/tasks/prize/claim', { member_id })));
    const statuses = answers.map((a) => a.status).sort();
    assert.equal(statuses, [200, ...Array(19).fill(409)]);
    const winner = answers.find((a) => a.status === 200)!;
    for (const loser of answers.filter((a) => a.status === 409)) assert.match(loser.json.message, new RegExp(`already claimed by ${winner.json.events[0].data.member_id}`));
    assert.is(count(await eventTypes(bmo, 'alpha'), 'task_claimed'), 1);
    const task = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/prize');
    assert.is(task.json.owner, winner.json.events[0].data.member_id);
    assert.is(task.json.fencing_token, winner.json.fencing_token);
  }),
);

test('concurrent writes to two teams all land, each stream without a gap', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha');
    await createTeam(bmo, 'beta');
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => ok(bmo, 201, 'POST', `/v1/teams/${i % 2 ? 'alpha' : 'beta'}/tasks`, { task_id: `t${i}`, title: `task ${i}` })),
    );
    for (const id of ['alpha', 'beta']) {
      const events = (await ok(bmo, 200, 'GET', `/v1/teams/${id}/events`)).json.events as { seq: number; pos: number }[];
      assert.equal(events.map((e) => e.seq), Array.from({ length: 17 }, (_, i) => i + 1));
    }
    assert.is(bmo.pipeline.store.head(), 34);
  }),
);

test.run();
