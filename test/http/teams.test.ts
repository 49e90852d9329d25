import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ID_PATTERN } from '../../events/index.js';
import { call, ok, withBmo } from '../helpers/bmo.js';
import { createTeam, eventTypes, storeState } from './support.js';

const ids = (items: { task_id?: string; message_id?: string }[]) => items.map((i) => i.task_id ?? i.message_id);

test('a team is created with its lead, then read by id and listed', () =>
  withBmo(async (bmo) => {
    const created = await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', goal: 'ship', lead: { member_id: 'boss', name: 'Boss' } });
    assert.is(created.json.team_id, 'alpha');
    assert.is(created.json.version, 2);
    assert.is(created.headers.etag, '"2"');
    assert.equal(
      created.json.events.map((e: { type: string; seq: number; stream: string }) => [e.type, e.seq, e.stream]),
      [
        ['team_created', 1, 'teams/alpha'],
        ['member_joined', 2, 'teams/alpha'],
      ],
    );
    assert.equal(created.json.events[1].data, { member_id: 'boss', name: 'Boss', role: 'lead' });

    const team = await ok(bmo, 200, 'GET', '/v1/teams/alpha');
    assert.is(team.headers.etag, '"2"');
    assert.is(team.json.status, 'active');
    assert.is(team.json.lead_member_id, 'boss');
    assert.is(team.json.goal, 'ship');
    assert.equal(
      team.json.members.map((m: { member_id: string; role: string; active: boolean }) => [m.member_id, m.role, m.active]),
      [['boss', 'lead', true]],
    );

    const list = await ok(bmo, 200, 'GET', '/v1/teams');
    assert.equal(
      list.json.teams.map((t: { team_id: string; members: number; status: string }) => [t.team_id, t.members, t.status]),
      [['alpha', 1, 'active']],
    );
    assert.is(list.json.pos, 2);
  }),
);

test('a team created without an id gets a server-generated id that reads back', () =>
  withBmo(async (bmo) => {
    const created = await ok(bmo, 201, 'POST', '/v1/teams', { name: 'Anon', lead: { name: 'Lead' } });
    const id = created.json.team_id as string;
    assert.ok(ID_PATTERN.test(id), id);
    assert.is(created.json.events[0].data.lead_member_id, 'lead', 'the lead defaults to member id "lead"');
    assert.is((await ok(bmo, 200, 'GET', `/v1/teams/${id}`)).json.name, 'Anon');
  }),
);

test('a second team with the same id is 409 and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha');
    const before = storeState(bmo, dir, ['teams/alpha']);
    const res = await call(bmo, 'POST', '/v1/teams', { id: 'alpha', name: 'Again', lead: { name: 'L' } });
    assert.is(res.status, 409);
    assert.match(res.json.message, /already exists/);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('members join and leave; a left member shows inactive and no longer counts', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha');
    const joined = await ok(bmo, 201, 'POST', '/v1/teams/alpha/members', { member_id: 'ann', name: 'Ann' });
    assert.is(joined.json.member_id, 'ann');
    assert.equal(joined.json.events[0].data, { member_id: 'ann', name: 'Ann', role: 'member' });
    const generated = await ok(bmo, 201, 'POST', '/v1/teams/alpha/members', { name: 'Someone' });
    assert.ok(ID_PATTERN.test(generated.json.member_id));

    const again = await call(bmo, 'POST', '/v1/teams/alpha/members', { member_id: 'ann', name: 'Ann' });
    assert.is(again.status, 409);

    const left = await ok(bmo, 200, 'DELETE', '/v1/teams/alpha/members/ann', { reason: 'done' });
    assert.equal(left.json.events.map((e: { type: string }) => e.type), ['member_left']);
    assert.equal(left.json.events[0].data, { member_id: 'ann', reason: 'done' });

    const team = await ok(bmo, 200, 'GET', '/v1/teams/alpha');
    const ann = team.json.members.find((m: { member_id: string }) => m.member_id === 'ann');
    assert.is(ann.active, false);
    assert.ok(ann.left_at);
    const list = await ok(bmo, 200, 'GET', '/v1/teams');
    assert.is(list.json.teams[0].members, 2, 'lead and the generated member remain');

    const twice = await call(bmo, 'DELETE', '/v1/teams/alpha/members/ann');
    assert.is(twice.status, 404);
    assert.match(twice.json.message, /ann is not a member/);
  }),
);

test('tasks with blocked_by: ?ready=true lists only what can be claimed, and changes as blockers complete', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const t2 = await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'second', blocked_by: ['t1'] });
    assert.equal(t2.json.events[0].data.blocked_by, ['t1']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't3', title: 'third', blocked_by: ['t1', 't2'] });
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't4', title: 'free' });

    const ready = async () => ids((await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks?ready=true')).json.tasks);
    assert.equal(await ready(), ['t1', 't4']);

    const all = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks');
    assert.equal(ids(all.json.tasks), ['t1', 't2', 't3', 't4']);
    assert.equal(all.json.tasks[2].waiting_on, ['t1', 't2']);
    assert.is(all.json.tasks[2].ready, false);

    const claim1 = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' });
    assert.equal(await ready(), ['t4'], 'a claimed task is no longer ready');
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/complete', { member_id: 'ann', fencing_token: claim1.json.fencing_token });
    assert.equal(await ready(), ['t2', 't4'], 't2 waited only on t1');

    const claim2 = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t2/claim', { member_id: 'ann' });
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t2/complete', { member_id: 'ann', fencing_token: claim2.json.fencing_token });
    assert.equal(await ready(), ['t3', 't4']);

    const t3 = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/t3');
    assert.equal(t3.json.waiting_on, []);
    assert.is(t3.json.ready, true);
    const completed = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks?status=completed');
    assert.equal(ids(completed.json.tasks), ['t1', 't2']);
  }),
);

test('a task blocked_by an unknown task is 404 and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha');
    const before = storeState(bmo, dir, ['teams/alpha']);
    const res = await call(bmo, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'x', blocked_by: ['nope'] });
    assert.is(res.status, 404);
    assert.match(res.json.message, /no task nope/);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('a claim returns a fencing token and lease; a claim of a claimed task is 409 and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann', 'bob']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const before = Date.now();
    const claim = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann', lease_ms: 60_000 });
    assert.is(claim.json.fencing_token, 1);
    const expires = Date.parse(claim.json.lease_expires_at);
    assert.ok(expires >= before + 60_000 && expires <= Date.now() + 60_000, claim.json.lease_expires_at);

    const snapshot = storeState(bmo, dir, ['teams/alpha']);
    const second = await call(bmo, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'bob' });
    assert.is(second.status, 409);
    assert.is(second.json.error, 'conflict');
    assert.match(second.json.message, /already claimed by ann/);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), snapshot);

    const task = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/t1');
    assert.is(task.json.owner, 'ann');
    assert.is(task.json.status, 'claimed');
  }),
);

test('a claim of a blocked task is 409 and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'second', blocked_by: ['t1'] });
    const before = storeState(bmo, dir, ['teams/alpha']);
    const res = await call(bmo, 'POST', '/v1/teams/alpha/tasks/t2/claim', { member_id: 'ann' });
    assert.is(res.status, 409);
    assert.match(res.json.message, /blocked by t1/);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('a task is updated by PATCH; a claimed task cannot become blocked (409)', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'second' });
    const updated = await ok(bmo, 200, 'PATCH', '/v1/teams/alpha/tasks/t2', { title: 'second, renamed', note: 'see the spec', description: 'longer' });
    assert.equal(updated.json.events[0].data, { task_id: 't2', title: 'second, renamed', description: 'longer', note: 'see the spec' });
    const task = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/t2');
    assert.is(task.json.title, 'second, renamed');
    assert.equal(task.json.notes, ['see the spec']);

    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t2/claim', { member_id: 'ann' });
    const before = storeState(bmo, dir, ['teams/alpha']);
    const blocked = await call(bmo, 'PATCH', '/v1/teams/alpha/tasks/t2', { blocked_by: ['t1'] });
    assert.is(blocked.status, 409);
    assert.match(blocked.json.message, /cannot become blocked by t1/);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('completion needs the current fencing token: a stale owner gets 409, the current one completes', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann', 'bob']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const first = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' });
    const released = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/release', { member_id: 'ann', fencing_token: first.json.fencing_token });
    assert.equal(released.json.events.map((e: { type: string }) => e.type), ['task_released']);
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/t1')).json.status, 'open', 'a released task is back in the queue');

    const second = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'bob' });
    assert.ok(second.json.fencing_token > first.json.fencing_token);

    const before = storeState(bmo, dir, ['teams/alpha']);
    const stale = await call(bmo, 'POST', '/v1/teams/alpha/tasks/t1/complete', { member_id: 'ann', fencing_token: first.json.fencing_token });
    assert.is(stale.status, 409);
    assert.match(stale.json.message, /stale/);
    assert.equal(stale.json.field, 'fencing_token');
    const wrongToken = await call(bmo, 'POST', '/v1/teams/alpha/tasks/t1/complete', { member_id: 'bob', fencing_token: first.json.fencing_token });
    assert.is(wrongToken.status, 409);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);

    const done = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/complete', { member_id: 'bob', fencing_token: second.json.fencing_token, result: 'shipped' });
    assert.equal(done.json.events[0].data, { task_id: 't1', member_id: 'bob', fencing_token: second.json.fencing_token, result: 'shipped' });
    const task = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/t1');
    assert.is(task.json.status, 'completed');
    assert.is(task.json.result, 'shipped');
  }),
);

test('a held task can be failed with its token; a failed task cannot be claimed again', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const claim = await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' });
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/fail', { member_id: 'ann', fencing_token: claim.json.fencing_token, error: 'disk full' });
    const task = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks/t1');
    assert.is(task.json.status, 'failed');
    assert.is(task.json.error, 'disk full');
    assert.is((await call(bmo, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' })).status, 409);
  }),
);

test('leaving the team returns the member’s claims to the queue', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' });
    const left = await ok(bmo, 200, 'DELETE', '/v1/teams/alpha/members/ann');
    assert.equal(left.json.events.map((e: { type: string; data: { reason?: string } }) => [e.type, e.data.reason]), [
      ['task_reclaimed', 'member_left'],
      ['member_left', undefined],
    ]);
    assert.equal(ids((await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks?ready=true')).json.tasks), ['t1']);
  }),
);

test('messages: direct and broadcast, inbox with ?unread=true, marked read once', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann', 'bob']);
    const direct = await ok(bmo, 201, 'POST', '/v1/teams/alpha/messages', { message_id: 'm1', from: 'ann', to: 'bob', body: 'can you review?' });
    assert.is(direct.json.message_id, 'm1');
    const broadcast = await ok(bmo, 201, 'POST', '/v1/teams/alpha/messages', { from: 'lead', to: '*', body: 'standup at 10' });
    const m2 = broadcast.json.message_id as string;
    assert.ok(ID_PATTERN.test(m2));

    const inbox = async (member: string, unread = false) =>
      (await ok(bmo, 200, 'GET', `/v1/teams/alpha/members/${member}/inbox${unread ? '?unread=true' : ''}`)).json.messages as { message_id: string; read: boolean; body: string }[];
    assert.equal(ids(await inbox('bob')), ['m1', m2]);
    assert.equal(ids(await inbox('ann')), [m2], 'ann gets the broadcast, not her own message');
    assert.equal(ids(await inbox('lead')), [], 'a broadcast is not in its sender’s inbox');
    assert.is((await inbox('bob'))[0].body, 'can you review?');

    const read = await ok(bmo, 200, 'POST', '/v1/teams/alpha/messages/m1/read', { member_id: 'bob' });
    assert.equal(read.json.events.map((e: { type: string }) => e.type), ['message_read']);
    assert.equal(ids(await inbox('bob', true)), [m2]);
    assert.equal((await inbox('bob')).map((m) => m.read), [true, false]);

    const before = storeState(bmo, dir, ['teams/alpha']);
    const again = await ok(bmo, 200, 'POST', '/v1/teams/alpha/messages/m1/read', { member_id: 'bob' });
    assert.equal(again.json.events, [], 'marking a read message again appends nothing');
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);

    await ok(bmo, 200, 'POST', `/v1/teams/alpha/messages/${m2}/read`, { member_id: 'ann' });
    assert.equal(ids(await inbox('ann', true)), []);
    assert.equal(ids(await inbox('bob', true)), [m2], 'a broadcast is read by each member on their own');
  }),
);

test('a message to someone who is not a member is 404 and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    const before = storeState(bmo, dir, ['teams/alpha']);
    const res = await call(bmo, 'POST', '/v1/teams/alpha/messages', { from: 'ann', to: 'zed', body: 'hello?' });
    assert.is(res.status, 404);
    assert.match(res.json.message, /zed is not a member/);
    assert.is(res.json.field, 'to');
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
    assert.is((await call(bmo, 'GET', '/v1/teams/alpha/members/zed/inbox')).status, 404);
  }),
);

test('a message id that is already used is 409, so the first message and its read state stay', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann', 'bob']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/messages', { message_id: 'm1', from: 'ann', to: 'bob', body: 'first' });
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/messages/m1/read', { member_id: 'bob' });
    const res = await call(bmo, 'POST', '/v1/teams/alpha/messages', { message_id: 'm1', from: 'lead', to: 'bob', body: 'second' });
    assert.is(res.status, 409);
    const inbox = await ok(bmo, 200, 'GET', '/v1/teams/alpha/members/bob/inbox');
    assert.equal(inbox.json.messages.map((m: { body: string; read: boolean }) => [m.body, m.read]), [['first', true]]);
  }),
);

test('a shut-down team refuses changes with 409 but still reads', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const shut = await ok(bmo, 200, 'POST', '/v1/teams/alpha/shutdown', { reason: 'sprint over' });
    assert.equal(shut.json.events[0].data, { reason: 'sprint over' });
    const before = storeState(bmo, dir, ['teams/alpha']);
    for (const [method, url, body] of [
      ['POST', '/v1/teams/alpha/tasks', { title: 'more' }],
      ['POST', '/v1/teams/alpha/tasks/t1/claim', { member_id: 'ann' }],
      ['POST', '/v1/teams/alpha/members', { name: 'late' }],
      ['POST', '/v1/teams/alpha/messages', { from: 'ann', to: '*', body: 'hi' }],
      ['POST', '/v1/teams/alpha/shutdown', {}],
    ] as const) {
      const res = await call(bmo, method, url, body);
      assert.is(res.status, 409, `${method} ${url}`);
      assert.match(res.json.message, /shut down/);
    }
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams/alpha')).json.status, 'shutdown');
  }),
);

test('DELETE appends team_removed; then GET is 404 while /events still reads and the file stays', () =>
  withBmo(async (bmo, dir) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await createTeam(bmo, 'beta');
    const removed = await ok(bmo, 200, 'DELETE', '/v1/teams/alpha');
    assert.is(removed.json.removed, true);
    assert.equal(removed.json.events.map((e: { type: string; data: unknown }) => [e.type, e.data]), [['team_removed', { reason: 'delete' }]]);

    const get = await call(bmo, 'GET', '/v1/teams/alpha');
    assert.is(get.status, 404);
    assert.match(get.json.message, /removed/);
    for (const url of ['/v1/teams/alpha/tasks', '/v1/teams/alpha/members/ann/inbox']) assert.is((await call(bmo, 'GET', url)).status, 404, url);

    assert.equal((await eventTypes(bmo, 'alpha')).slice(-1), ['team_removed']);
    assert.ok(existsSync(join(dir, 'teams', 'alpha', 'events.jsonl')));

    assert.equal((await ok(bmo, 200, 'GET', '/v1/teams')).json.teams.map((t: { team_id: string }) => t.team_id), ['beta']);
    const all = await ok(bmo, 200, 'GET', '/v1/teams?all=true');
    assert.equal(all.json.teams.map((t: { team_id: string; status: string }) => [t.team_id, t.status]).sort(), [
      ['alpha', 'removed'],
      ['beta', 'active'],
    ]);
    assert.is((await ok(bmo, 200, 'GET', '/v1/teams/posture')).json.team_count, 1);

    const before = storeState(bmo, dir, ['teams/alpha']);
    assert.is((await call(bmo, 'DELETE', '/v1/teams/alpha')).status, 404, 'a removed team cannot be removed again');
    assert.is((await call(bmo, 'POST', '/v1/teams/alpha/tasks', { title: 'x' })).status, 404);
    assert.equal(storeState(bmo, dir, ['teams/alpha']), before);
  }),
);

test('a team that never existed is 404 on every read and write', () =>
  withBmo(async (bmo, dir) => {
    const before = storeState(bmo, dir, ['teams/ghost']);
    for (const [method, url, body] of [
      ['GET', '/v1/teams/ghost', undefined],
      ['GET', '/v1/teams/ghost/events', undefined],
      ['GET', '/v1/teams/ghost/tasks', undefined],
      ['DELETE', '/v1/teams/ghost', undefined],
      ['POST', '/v1/teams/ghost/tasks', { title: 'x' }],
      ['POST', '/v1/teams/ghost/members', { name: 'x' }],
    ] as const) {
      const res = await call(bmo, method, url, body);
      assert.is(res.status, 404, `${method} ${url}`);
      assert.is(res.json.error, 'not_found');
      assert.match(res.json.message, /ghost/);
    }
    assert.equal(storeState(bmo, dir, ['teams/ghost']), before);
    assert.not.ok(existsSync(join(dir, 'teams', 'ghost')), 'a refused write creates no directory');
  }),
);

test('GET /events reads the log as JSON, and as NDJSON from a given from_seq', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann', 'bob']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    await createTeam(bmo, 'beta');

    const json = await ok(bmo, 200, 'GET', '/v1/teams/alpha/events');
    assert.is(json.json.stream, 'teams/alpha');
    assert.equal(json.json.events.map((e: { seq: number }) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(json.json.events.map((e: { type: string }) => e.type), ['team_created', 'member_joined', 'member_joined', 'member_joined', 'task_created']);
    for (const e of json.json.events) assert.match(e.crc, /^[0-9a-f]{8}$/);

    const nd = await ok(bmo, 200, 'GET', '/v1/teams/alpha/events?from_seq=3', undefined, { accept: 'application/x-ndjson' });
    assert.match(String(nd.headers['content-type']), /application\/x-ndjson/);
    const lines = nd.body.split('\n').filter((l) => l.length > 0);
    const parsed = lines.map((l) => JSON.parse(l));
    assert.equal(parsed.map((e) => e.seq), [3, 4, 5]);
    assert.equal(parsed, json.json.events.slice(2), 'NDJSON lines are the same envelopes as the JSON');

    const past = await ok(bmo, 200, 'GET', '/v1/teams/alpha/events?from_seq=99', undefined, { accept: 'application/x-ndjson' });
    assert.is(past.body.trim(), '');
    const bad = await call(bmo, 'GET', '/v1/teams/alpha/events?from_seq=0');
    assert.is(bad.status, 400);
    assert.match(bad.json.message, /from_seq/);
  }),
);

test('a session\'s log and the store-wide system logs read as a team\'s does; a log with nothing in it is a 404 naming it', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: 's1', agent: 'test' });
    await ok(bmo, 200, 'POST', '/v1/sessions/s1/heartbeat', {});
    await ok(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });

    const session = await ok(bmo, 200, 'GET', '/v1/sessions/s1/events');
    assert.is(session.json.stream, 'sessions/s1');
    assert.equal(session.json.events.map((e: { type: string }) => e.type), ['session_started', 'session_heartbeat']);
    const nd = await ok(bmo, 200, 'GET', '/v1/sessions/s1/events?from_seq=2', undefined, { accept: 'application/x-ndjson' });
    assert.equal(nd.body.trim().split('\n').map((l) => JSON.parse(l)), session.json.events.slice(1));

    const cleanup = await ok(bmo, 200, 'GET', '/v1/system/cleanup/events');
    assert.equal(cleanup.json.events.map((e: { type: string; data: { removed: number } }) => [e.type, e.data.removed]), [['cleanup_completed', 0]]);

    for (const [url, says] of [['/v1/sessions/nobody/events', 'no session nobody'], ['/v1/system/nothing/events', 'no system log nothing']]) {
      const missing = await call(bmo, 'GET', url);
      assert.is(missing.status, 404, url);
      assert.is(missing.json.message, says);
    }
  }),
);

test('a session a body names must be known: a mistyped lead, member or claim session is a 404 naming the field, and nothing is written', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-laptop' });
    await createTeam(bmo, 'alpha', ['bob']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const head = bmo.pipeline.store.head();
    for (const [url, body, field] of [
      ['/v1/teams', { id: 'typo', name: 'Typo', lead: { name: 'Ann', session_id: 'ann-laptpo' } }, 'lead.session_id'],
      ['/v1/teams/alpha/members', { member_id: 'cat', name: 'Cat', session_id: 'ann-laptpo' }, 'session_id'],
      ['/v1/teams/alpha/tasks/t1/claim', { member_id: 'bob', session_id: 'ann-laptpo' }, 'session_id'],
    ] as const) {
      const refused = await call(bmo, 'POST', url, body);
      assert.is(refused.status, 404, `${url}: ${refused.body}`);
      assert.is(refused.json.field, field);
      assert.match(refused.json.message, /no session ann-laptpo; start it first \(POST \/v1\/sessions\)/);
    }
    assert.is(bmo.pipeline.store.head(), head, 'nothing was written');
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'spelled', name: 'Spelled', lead: { name: 'Ann', session_id: 'ann-laptop' } });
  }),
);

test('a body-less request sent with Content-Type: application/json is taken as no body where none is needed', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: 's1' });
    await createTeam(bmo, 'alpha', ['bob']);
    const asJson = { 'content-type': 'application/json' };
    assert.is((await call(bmo, 'POST', '/v1/sessions/s1/heartbeat', undefined, asJson)).status, 200);
    assert.is((await call(bmo, 'DELETE', '/v1/teams/alpha/members/bob', undefined, asJson)).status, 200);
    const needed = await call(bmo, 'POST', '/v1/teams/alpha/tasks', undefined, asJson);
    assert.is(needed.status, 400);
    assert.match(needed.json.message, /^the body is empty; send a JSON object \(title: /);
  }),
);

test('posture and the recent-events tail follow the writes', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' });
    const posture = await ok(bmo, 200, 'GET', '/v1/teams/posture');
    assert.is(posture.json.team_count, 1);
    assert.is(posture.json.pos, 4);
    assert.is(posture.json.teams[0].tasks.ready, 1);
    const recent = await ok(bmo, 200, 'GET', '/v1/teams/events/recent?limit=2');
    assert.equal(recent.json.events.map((e: { type: string; pos: number }) => [e.type, e.pos]), [
      ['member_joined', 3],
      ['task_created', 4],
    ]);
    assert.is(recent.json.events[1].task_id, 't1');
  }),
);

test.run();
