import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { call, okJson, withBmo } from '../helpers/bmo.js';
import { until } from '../helpers/wait.js';

// A claim holds a lease; the lease sweeper returns a lapsed claim to the queue (`task_reclaimed`),
// after which the old fencing token completes nothing; a heartbeat of the owning session renews
// the lease of every claim it holds.

interface Event {
  pos: number;
  seq: number;
  at: string;
  type: string;
  data: Record<string, any>;
  meta: Record<string, any>;
}

const SWEEP = { sessions: { sweep_interval_ms: 100 } };

async function teamEvents(bmo: Bmo, teamId: string): Promise<Event[]> {
  return (await okJson(bmo, 200, 'GET', `/v1/teams/${teamId}/events`)).events;
}

/** A bmo whose sweeper runs every 100 ms of a clock the test moves on. */
const withSweeper = (fn: (bmo: Bmo, clock: TestClock) => Promise<void>) => {
  const clock = new TestClock();
  return withBmo((bmo) => fn(bmo, clock), { overrides: SWEEP, clock });
};

async function teamWithTask(bmo: Bmo, members: string[], tasks: string[]) {
  await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'crew', name: 'Crew', lead: { member_id: 'lead', name: 'Lead' } });
  for (const member of members) await okJson(bmo, 201, 'POST', '/v1/teams/crew/members', { member_id: member, name: member });
  for (const task of tasks) await okJson(bmo, 201, 'POST', '/v1/teams/crew/tasks', { task_id: task, title: task });
}

test('a member that moved to a new session takes its claims along: the new session\'s heartbeats renew them, the old one\'s no longer do', () =>
  withSweeper(async (bmo) => {
    await teamWithTask(bmo, ['ann'], ['t1']);
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-old', lease_ms: 60_000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-new', lease_ms: 60_000 });
    await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/t1/claim', { member_id: 'ann', session_id: 'ann-old' });
    await okJson(bmo, 200, 'POST', '/v1/teams/crew/members', { member_id: 'ann', name: 'ann', session_id: 'ann-new' });
    assert.equal((await okJson(bmo, 200, 'POST', '/v1/sessions/ann-old/heartbeat')).renewed_claims, [], 'the old session holds nothing now');
    const beat = await okJson(bmo, 200, 'POST', '/v1/sessions/ann-new/heartbeat');
    assert.equal(beat.renewed_claims.map((c: { task_id: string }) => c.task_id), ['t1']);
    assert.is((await okJson(bmo, 200, 'GET', '/v1/teams/crew/tasks/t1')).owner, 'ann');
  }),
);

test('the lease sweeper reclaims a lapsed claim, and a completion with the old fencing token is 409', () =>
  withSweeper(async (bmo, clock) => {
    await teamWithTask(bmo, ['ann', 'bob'], ['t1']);
    const claim = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/t1/claim', { member_id: 'ann', lease_ms: 1000 });
    const stale = claim.fencing_token as number;
    assert.ok(Number.isInteger(stale) && stale > 0);

    // Nobody touches the task: only the sweeper can append the reclaim.
    await clock.advance(1100);
    await until(async () => (await teamEvents(bmo, 'crew')).some((e) => e.type === 'task_reclaimed'), 'the sweeper to reclaim t1');
    const events = await teamEvents(bmo, 'crew');
    const reclaimed = events.filter((e) => e.type === 'task_reclaimed');
    assert.is(reclaimed.length, 1);
    assert.equal(reclaimed[0].data, { task_id: 't1', member_id: 'ann', fencing_token: stale, reason: 'lease_expired' });
    assert.ok(Date.parse(reclaimed[0].at) >= Date.parse(claim.lease_expires_at), 'reclaimed only once the lease lapsed');
    assert.type(reclaimed[0].meta.invocation_id, 'string', 'the sweep is an invocation of its own');

    const task = await okJson(bmo, 200, 'GET', '/v1/teams/crew/tasks/t1');
    assert.is(task.status, 'open');
    assert.is(task.ready, true);
    assert.is(task.owner, undefined);

    const head = bmo.pipeline.store.head();
    const late = await call(bmo, 'POST', '/v1/teams/crew/tasks/t1/complete', { member_id: 'ann', fencing_token: stale, result: 'too late' });
    assert.is(late.status, 409);
    assert.is(late.json.error, 'conflict');
    assert.is(bmo.pipeline.store.head(), head, 'the refused completion wrote nothing');

    // Someone else claims it: a larger token; the stale owner still cannot complete it, the new one can.
    const fresh = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/t1/claim', { member_id: 'bob', lease_ms: 60_000 });
    assert.ok(fresh.fencing_token > stale);
    const stillLate = await call(bmo, 'POST', '/v1/teams/crew/tasks/t1/complete', { member_id: 'ann', fencing_token: stale });
    assert.is(stillLate.status, 409);
    assert.match(stillLate.json.message, /stale/);
    await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/t1/complete', { member_id: 'bob', fencing_token: fresh.fencing_token });
    assert.equal(
      (await teamEvents(bmo, 'crew')).filter((e) => e.type === 'task_completed').map((e) => e.data.member_id),
      ['bob'],
    );
  }),
);

test("a heartbeat renews the leases of its session's claims, so they outlive the lease while a claim without heartbeats is reclaimed", () =>
  withSweeper(async (bmo, clock) => {
    await teamWithTask(bmo, ['ann', 'bob'], ['kept', 'lost']);
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-session', lease_ms: 1000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'bob-session', lease_ms: 60_000 });
    const kept = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/kept/claim', { member_id: 'ann', session_id: 'ann-session', lease_ms: 1000 });
    const lost = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/lost/claim', { member_id: 'bob', session_id: 'bob-session', lease_ms: 1000 });

    let expiry = Date.parse(kept.lease_expires_at);
    let beats = 0;
    // Three lease lengths of heartbeats, one every 200 ms.
    for (let elapsed = 0; elapsed < 3000; elapsed += 200) {
      await clock.advance(200);
      const beat = await okJson(bmo, 200, 'POST', '/v1/sessions/ann-session/heartbeat');
      beats++;
      assert.equal(
        beat.renewed_claims.map((c: { stream: string; task_id: string }) => [c.stream, c.task_id]),
        [['teams/crew', 'kept']],
        'the heartbeat renews the claims of its own session only',
      );
      const next = Date.parse(beat.renewed_claims[0].lease_expires_at);
      const asOfAnswer = await okJson(bmo, 200, 'GET', `/v1/teams/crew/tasks/kept?as_of=${beat.pos}`);
      assert.is(asOfAnswer.lease_expires_at, beat.renewed_claims[0].lease_expires_at, "the answer's pos covers its renewals");
      assert.ok(next > expiry, `lease_expires_at moves forward (${new Date(expiry).toISOString()} → ${beat.renewed_claims[0].lease_expires_at})`);
      expiry = next;
    }
    assert.is(beats, 15);
    await until(async () => (await teamEvents(bmo, 'crew')).some((e) => e.type === 'task_reclaimed'), 'the sweeper to reclaim lost');

    const events = await teamEvents(bmo, 'crew');
    assert.equal(
      events.filter((e) => e.type === 'task_reclaimed').map((e) => e.data.task_id),
      ['lost'],
      'the sweeper ran: the claim nobody renewed was reclaimed, the renewed one was not',
    );
    const renewals = events.filter((e) => e.type === 'task_claimed' && e.data.task_id === 'kept');
    assert.is(renewals.length, beats + 1);
    assert.ok(renewals.every((e) => e.data.fencing_token === kept.fencing_token), 'a renewal keeps the fencing token');

    const task = await okJson(bmo, 200, 'GET', '/v1/teams/crew/tasks/kept');
    assert.is(task.status, 'claimed');
    assert.is(task.owner, 'ann');
    assert.is(Date.parse(task.lease_expires_at), expiry);
    await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/kept/complete', { member_id: 'ann', fencing_token: kept.fencing_token });
    const refused = await call(bmo, 'POST', '/v1/teams/crew/tasks/lost/complete', { member_id: 'bob', fencing_token: lost.fencing_token });
    assert.is(refused.status, 409);
  }),
);

test("a heartbeat with If-Match (the session's version) still renews its claims on every team", () =>
  withSweeper(async (bmo, clock) => {
    await teamWithTask(bmo, ['ann'], ['t1']);
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-session', lease_ms: 60_000 });
    const claim = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/t1/claim', { member_id: 'ann', session_id: 'ann-session', lease_ms: 5000 });
    await clock.advance(20);
    const beat = await okJson(bmo, 200, 'POST', '/v1/sessions/ann-session/heartbeat', {}, { 'if-match': '1' });
    assert.equal(beat.renewed_claims.map((c: { task_id: string }) => c.task_id), ['t1'], 'the team is not held to the session\'s version');
    assert.ok(Date.parse(beat.renewed_claims[0].lease_expires_at) > Date.parse(claim.lease_expires_at));
    const stale = await call(bmo, 'POST', '/v1/sessions/ann-session/heartbeat', {}, { 'if-match': '1' });
    assert.is(stale.status, 409, 'If-Match still holds for the session itself');
  }),
);

test("a claim sent as {member_id} is held by the member's own session: its heartbeats renew it, and a session_id given in the claim still wins", () =>
  withSweeper(async (bmo, clock) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-session', lease_ms: 60_000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'ann-phone', lease_ms: 60_000 });
    await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'crew', name: 'Crew', lead: { member_id: 'lead', name: 'Lead' } });
    await okJson(bmo, 201, 'POST', '/v1/teams/crew/members', { member_id: 'ann', name: 'Ann', session_id: 'ann-session' });
    await okJson(bmo, 201, 'POST', '/v1/teams/crew/members', { member_id: 'bob', name: 'Bob' });
    for (const task of ['kept', 'lost', 'elsewhere']) await okJson(bmo, 201, 'POST', '/v1/teams/crew/tasks', { task_id: task, title: task });

    // As in the README: no session_id in the body.
    const kept = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/kept/claim', { member_id: 'ann', lease_ms: 1000 });
    assert.is(kept.events[0].data.session_id, 'ann-session', "the claim names the member's session");
    const lost = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/lost/claim', { member_id: 'bob', lease_ms: 1000 });
    assert.is(lost.events[0].data.session_id, undefined, 'a member without a session holds a claim no heartbeat renews');
    const elsewhere = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/elsewhere/claim', { member_id: 'ann', session_id: 'ann-phone', lease_ms: 60_000 });
    assert.is(elsewhere.events[0].data.session_id, 'ann-phone', 'the session the claim names comes first');

    let expiry = Date.parse(kept.lease_expires_at);
    for (let elapsed = 0; elapsed < 2500; elapsed += 200) {
      await clock.advance(200);
      const beat = await okJson(bmo, 200, 'POST', '/v1/sessions/ann-session/heartbeat');
      assert.equal(beat.renewed_claims.map((c: { task_id: string }) => c.task_id), ['kept']);
      const next = Date.parse(beat.renewed_claims[0].lease_expires_at);
      const asOfAnswer = await okJson(bmo, 200, 'GET', `/v1/teams/crew/tasks/kept?as_of=${beat.pos}`);
      assert.is(asOfAnswer.lease_expires_at, beat.renewed_claims[0].lease_expires_at, "the answer's pos covers its renewals");
      assert.ok(next > expiry, 'lease_expires_at moves forward');
      expiry = next;
    }
    await until(async () => (await teamEvents(bmo, 'crew')).some((e) => e.type === 'task_reclaimed'), 'the sweeper to reclaim lost');
    assert.equal(
      (await teamEvents(bmo, 'crew')).filter((e) => e.type === 'task_reclaimed').map((e) => e.data.task_id),
      ['lost'],
      'the claim renewed through the member session outlived its lease',
    );
    const task = await okJson(bmo, 200, 'GET', '/v1/teams/crew/tasks/kept');
    assert.equal([task.status, task.owner, task.owner_session_id], ['claimed', 'ann', 'ann-session']);
    await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/kept/complete', { member_id: 'ann', fencing_token: kept.fencing_token });
  }),
);

test.run();
