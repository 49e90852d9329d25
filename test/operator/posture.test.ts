import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Bmo } from '../../src/app.js';
import { okJson, runBmoCli, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

// One posture snapshot for every surface: HTTP (GET /v1/teams/posture), the WebSocket projection
// frame and the CLI read the same state for the same pos.

interface PostureFrame {
  op: 'projection';
  name: string;
  pos: number;
  state: any;
}

/** A WebSocket subscribed to the posture projection, keeping every projection frame. */
async function subscribePosture(bmo: Bmo): Promise<{ frames: PostureFrame[]; close: () => void }> {
  const url = `${bmo.url!.replace(/^http/, 'ws')}/v1/stream?from=${bmo.pipeline.store.head()}&filter=teams/*&projections=posture`;
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  const frames: PostureFrame[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.op === 'projection') frames.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { frames, close: () => ws.terminate() };
}

/** Teams in every state the posture counts: working, blocked, idle, a gone lead, a removed team, messages. */
async function buildScenario(bmo: Bmo) {
  await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'lead-live', lease_ms: 3_600_000 });
  await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'worker', lease_ms: 3_600_000 });
  await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'lead-gone', lease_ms: 3_600_000 });
  await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'busy', name: 'Busy', goal: 'g', lead: { member_id: 'lead', name: 'L', session_id: 'lead-live' } });
  await okJson(bmo, 201, 'POST', '/v1/teams/busy/members', { member_id: 'w', name: 'W', session_id: 'worker' });
  await okJson(bmo, 201, 'POST', '/v1/teams/busy/tasks', { task_id: 'a', title: 'a' });
  await okJson(bmo, 201, 'POST', '/v1/teams/busy/tasks', { task_id: 'b', title: 'b', blocked_by: ['a'] });
  await okJson(bmo, 200, 'POST', '/v1/teams/busy/tasks/a/claim', { member_id: 'w', session_id: 'worker', lease_ms: 3_600_000 });
  await okJson(bmo, 201, 'POST', '/v1/teams/busy/messages', { message_id: 'm1', from: 'lead', to: '*', body: 'hello' });
  await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'stuck', name: 'Stuck', lead: { member_id: 'lead', name: 'L', session_id: 'lead-live' } });
  await okJson(bmo, 201, 'POST', '/v1/teams/stuck/tasks', { task_id: 'x', title: 'x' });
  await okJson(bmo, 201, 'POST', '/v1/teams/stuck/tasks', { task_id: 'y', title: 'y', blocked_by: ['x'] });
  await okJson(bmo, 200, 'POST', '/v1/teams/stuck/tasks/x/claim', { member_id: 'lead', lease_ms: 3_600_000 });
  await okJson(bmo, 200, 'POST', '/v1/teams/stuck/tasks/x/fail', { member_id: 'lead', fencing_token: 1, error: 'no' });
  await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'orphaned', name: 'Orphaned', lead: { member_id: 'lead', name: 'L', session_id: 'lead-gone' } });
  await okJson(bmo, 201, 'POST', '/v1/teams', { id: 'deleted', name: 'Deleted', lead: { name: 'L' } });
  await okJson(bmo, 200, 'DELETE', '/v1/teams/deleted');
  await okJson(bmo, 200, 'POST', '/v1/sessions/lead-gone/end');
}

test('the posture over HTTP and the posture frame over the WebSocket are the same snapshot for the same pos', async () => {
  const tmp = tempDir('bmo-operator-');
  const bmo = await startTestBmo(tmp.dir, { listen: true });
  let close = () => {};
  try {
    await buildScenario(bmo);
    const sub = await subscribePosture(bmo);
    close = sub.close;
    await until(() => sub.frames.length >= 1, 'the first posture frame');
    const http = await okJson(bmo, 200, 'GET', '/v1/teams/posture');
    const frame = sub.frames[0];
    assert.is(frame.name, 'posture');
    assert.is(frame.pos, bmo.pipeline.store.head());
    assert.is(frame.pos, frame.state.pos);
    assert.is(http.pos, frame.pos);
    assert.equal(frame.state, http, 'HTTP and WebSocket serve the same snapshot');

    // It says what the scenario built (so the equality is not between two empty snapshots).
    assert.is(http.team_count, 3);
    assert.equal(
      http.teams.map((t: any) => [t.team_id, t.lead, t.status]),
      [
        ['busy', 'alive', 'active'],
        ['stuck', 'alive', 'active'],
        ['orphaned', 'gone', 'active'],
      ],
    );
    assert.is(http.active_count, 1);
    assert.is(http.blocked_count, 1, 'stuck: its only open task waits on a failed one');
    assert.equal(http.teams[0].member_liveness, { working: 1, idle: 1, stalled: 0, gone: 0, unregistered: 0 });
    assert.is(http.config.enabled, true);

    // A write moves both to the new pos, still equal.
    await okJson(bmo, 201, 'POST', '/v1/teams/busy/tasks', { task_id: 'c', title: 'c' });
    const head = bmo.pipeline.store.head();
    await until(() => sub.frames.some((f) => f.pos === head), `a posture frame at pos ${head}`);
    const after = await okJson(bmo, 200, 'GET', '/v1/teams/posture');
    assert.is(after.pos, head);
    assert.equal(sub.frames.find((f) => f.pos === head)!.state, after);
    assert.is(after.teams[0].tasks.open, http.teams[0].tasks.open + 1);
    assert.ok(sub.frames.every((f, i) => i === 0 || f.pos > sub.frames[i - 1].pos), 'frames come in pos order, one per pos');
  } finally {
    close();
    await bmo.close().catch(() => {});
    tmp.cleanup();
  }
});

// No CLI verb prints the posture snapshot itself (`team list` reads GET /v1/teams, `config
// show-teams` reads the recent-events tail and the CLI's own config). What they do show must agree
// with the snapshot at the same pos.
test('what the CLI shows (team list rows, the show-teams recent tail) equals the posture snapshot at the same pos', async () => {
  const tmp = tempDir('bmo-operator-');
  const bmo = await startTestBmo(join(tmp.dir, 'data'), { listen: true });
  try {
    await buildScenario(bmo);
    const cliDir = join(tmp.dir, 'cli');
    mkdirSync(cliDir);
    const env = { BMO_URL: bmo.url!, BMO_TOKEN: TOKEN };
    const posture = await okJson(bmo, 200, 'GET', '/v1/teams/posture');

    const list = await runBmoCli(['team', 'list', '--json'], cliDir, env);
    assert.is(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout);
    assert.is(listed.pos, posture.pos, 'same pos');
    // The posture rows are the list rows (with the lead's liveness) plus the posture-only member_liveness.
    assert.equal(
      listed.teams,
      posture.teams.map(({ member_liveness: _liveness, ...row }: any) => row),
    );
    assert.is(listed.teams.length, posture.team_count);

    const shown = await runBmoCli(['config', 'show-teams', '--json'], cliDir, env);
    assert.is(shown.code, 0, shown.stderr);
    const value = JSON.parse(shown.stdout);
    assert.is(value.connection.mode, 'server');
    assert.is(bmo.pipeline.store.head(), posture.pos, 'nothing was written meanwhile');
    assert.equal(value.recent, posture.recent, 'the recent tail the CLI prints is the posture tail');
    assert.ok(value.recent.length > 0);
  } finally {
    await bmo.close().catch(() => {});
    tmp.cleanup();
  }
});

test.run();
