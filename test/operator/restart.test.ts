import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { call, okJson, readLog, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

// The operator surfaces are projections of the logs: after a restart the posture, the cleanup
// history, the sessions and the teams read exactly as before, and the cleanup and lease rules
// still apply to them.

const OVERRIDES = { sessions: { sweep_interval_ms: 100 } };

const cleanupLog = (dir: string) => readLog<{ type: string; data: Record<string, unknown> }>(join(dir, 'system', 'cleanup', 'events.jsonl'));

/** What the operator sees, read over HTTP. */
async function operatorView(bmo: Bmo, dir: string) {
  return {
    posture: await okJson(bmo, 200, 'GET', '/v1/teams/posture'),
    recent: await okJson(bmo, 200, 'GET', '/v1/teams/events/recent?limit=256'),
    teams: await okJson(bmo, 200, 'GET', '/v1/teams?all=true'),
    sessions: await okJson(bmo, 200, 'GET', '/v1/sessions'),
    busy: await okJson(bmo, 200, 'GET', '/v1/teams/busy'),
    remote: await okJson(bmo, 200, 'GET', '/v1/teams/remote'),
    cleanups: cleanupLog(dir),
  };
}

test('after a restart the posture, the cleanup history, the sessions and the teams read as before, and the rules still apply', async () => {
  const tmp = tempDir('bmo-operator-');
  const clock = new TestClock();
  let bmo: Bmo | undefined;
  try {
    bmo = await startTestBmo(tmp.dir, { overrides: OVERRIDES, clock });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'lead-live', lease_ms: 3_600_000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'worker', lease_ms: 3_600_000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'lead-ended', lease_ms: 3_600_000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'lead-lapsed', lease_ms: 1000 });
    await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'busy', name: 'Busy', goal: 'g', lead: { member_id: 'lead', name: 'L', session_id: 'lead-live' } });
    await okJson(bmo, 201, 'POST', '/v1/teams/busy/members', { member_id: 'w', name: 'W', session_id: 'worker' });
    await okJson(bmo, 201, 'POST', '/v1/teams/busy/tasks', { task_id: 'a', title: 'a' });
    await okJson(bmo, 201, 'POST', '/v1/teams/busy/tasks', { task_id: 'b', title: 'b', blocked_by: ['a'] });
    const claim = await okJson(bmo, 200, 'POST', '/v1/teams/busy/tasks/a/claim', { member_id: 'w', session_id: 'worker', lease_ms: 3_600_000 });
    await okJson(bmo, 201, 'POST', '/v1/teams/busy/messages', { message_id: 'm1', from: 'lead', to: 'w', body: 'go' });
    await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'ended', name: 'Ended', lead: { member_id: 'lead', name: 'L', session_id: 'lead-ended' } });
    await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'lapsed', name: 'Lapsed', lead: { member_id: 'lead', name: 'L', session_id: 'lead-lapsed' } });
    await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'later', name: 'Later', lead: { member_id: 'lead', name: 'L', session_id: 'lead-ended' } });
    await okJson(bmo, 200, 'POST', '/v1/sessions/lead-ended/end');
    await clock.advance(1100);
    assert.is((await okJson(bmo, 200, 'GET', '/v1/sessions/lead-lapsed')).state, 'lapsed');
    const single = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'later' });
    assert.is(single.removed, 1);
    const all = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
    assert.equal([...all.team_ids].sort(), ['ended', 'lapsed']);

    const before = await operatorView(bmo, tmp.dir);
    assert.is(before.posture.team_count, 1);
    assert.equal(
      before.cleanups.map((e) => [e.data.scope, e.data.removed]),
      [
        ['single', 1],
        ['all', 2],
      ],
    );
    await bmo.close();
    bmo = undefined;

    bmo = await startTestBmo(tmp.dir, { overrides: OVERRIDES, clock });
    const after = await operatorView(bmo, tmp.dir);
    assert.is(after.posture.pos, before.posture.pos);
    assert.equal(after.posture, before.posture, 'the posture is rebuilt as it was');
    assert.equal(after.recent, before.recent, 'the recent ring is rebuilt as it was');
    assert.equal(after.teams, before.teams);
    assert.equal(after.sessions, before.sessions, 'sessions (and their alive/ended/lapsed state) as before');
    assert.equal(after.busy, before.busy);
    assert.equal(after.remote, before.remote);
    assert.equal(after.cleanups, before.cleanups, 'the cleanup history is intact');
    assert.equal(
      after.sessions.sessions.map((s: { session_id: string; state: string }) => [s.session_id, s.state]).sort(),
      [
        ['lead-ended', 'ended'],
        ['lead-lapsed', 'lapsed'],
        ['lead-live', 'alive'],
        ['worker', 'alive'],
      ],
    );

    // The rules hold on the rebuilt state: removed teams are not counted again, the live one stays.
    const again = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
    assert.equal([again.removed, again.scope], [0, 'all']);
    assert.is(cleanupLog(tmp.dir).length, 3);
    assert.is((await call(bmo, 'GET', '/v1/teams/ended')).status, 404);
    // A heartbeat of the surviving session still renews its claim, and an ended session stays ended.
    const beat = await okJson(bmo, 200, 'POST', '/v1/sessions/worker/heartbeat', { lease_ms: 3_600_000 });
    assert.equal(
      beat.renewed_claims.map((c: { task_id: string }) => c.task_id),
      ['a'],
    );
    assert.ok(Date.parse(beat.renewed_claims[0].lease_expires_at) > Date.parse(claim.lease_expires_at));
    assert.is((await call(bmo, 'POST', '/v1/sessions/lead-ended/heartbeat')).status, 409);
    await okJson(bmo, 200, 'POST', '/v1/teams/busy/tasks/a/complete', { member_id: 'w', fencing_token: claim.fencing_token });
    assert.is((await okJson(bmo, 200, 'GET', '/v1/teams/busy/tasks?ready=true')).tasks[0].task_id, 'b');
  } finally {
    await bmo?.close().catch(() => {});
    tmp.cleanup();
  }
});

test('a claim whose lease lapsed while bmo was down is reclaimed by the sweeper after the restart', async () => {
  const tmp = tempDir('bmo-operator-');
  const clock = new TestClock();
  let bmo: Bmo | undefined;
  try {
    bmo = await startTestBmo(tmp.dir, { overrides: { sessions: { sweep_interval_ms: 3_600_000 } }, clock });
    await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'crew', name: 'Crew', lead: { member_id: 'lead', name: 'L' } });
    await okJson(bmo, 201, 'POST', '/v1/teams/crew/tasks', { task_id: 't', title: 't' });
    const claim = await okJson(bmo, 200, 'POST', '/v1/teams/crew/tasks/t/claim', { member_id: 'lead', lease_ms: 1000 });
    await bmo.close();
    bmo = undefined;
    await clock.advance(1100);

    bmo = await startTestBmo(tmp.dir, { overrides: OVERRIDES, clock });
    let events: { type: string; data: Record<string, unknown> }[] = [];
    await clock.advance(100);
    await until(async () => {
      events = (await okJson(bmo!, 200, 'GET', '/v1/teams/crew/events')).events;
      return events.some((e) => e.type === 'task_reclaimed');
    }, 'the sweeper to reclaim the lapsed claim after the restart');
    assert.equal(events.find((e) => e.type === 'task_reclaimed')!.data, { task_id: 't', member_id: 'lead', fencing_token: claim.fencing_token, reason: 'lease_expired' });
    assert.is((await call(bmo, 'POST', '/v1/teams/crew/tasks/t/complete', { member_id: 'lead', fencing_token: claim.fencing_token })).status, 409);
  } finally {
    await bmo?.close().catch(() => {});
    tmp.cleanup();
  }
});

test.run();
