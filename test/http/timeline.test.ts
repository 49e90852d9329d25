import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent, StreamName } from '../../events/index.js';
import { JsonlEventStore } from '../../src/store/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, closedPort, runBmoCli, startTestBmo, testLogger, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { createTeam, ok, withBmo } from './support.js';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();

/** The scripted team: [seconds after T0, stream, event]. */
const SCRIPT: [number, StreamName, DomainEvent][] = [
  [0, 'sessions/ann-s', { type: 'session_started', data: { session_id: 'ann-s', lease_ms: 60_000 } }],
  [0, 'teams/docs', { type: 'team_created', data: { team_id: 'docs', name: 'Docs sweep', lead_member_id: 'ann', lead_session_id: 'ann-s' } }],
  [0, 'teams/docs', { type: 'member_joined', data: { member_id: 'ann', name: 'Ann', role: 'lead', session_id: 'ann-s' } }],
  [10, 'teams/docs', { type: 'member_joined', data: { member_id: 'bob', name: 'Bob', role: 'member' } }],
  [20, 'teams/docs', { type: 'task_created', data: { task_id: 'outline', title: 'Outline', blocked_by: [] } }],
  [30, 'teams/docs', { type: 'task_claimed', data: { task_id: 'outline', member_id: 'bob', fencing_token: 1, lease_ms: 60_000, lease_expires_at: iso(90) } }],
  [60, 'teams/docs', { type: 'task_claimed', data: { task_id: 'outline', member_id: 'bob', fencing_token: 1, lease_ms: 60_000, lease_expires_at: iso(120) } }],
  [100, 'teams/docs', { type: 'task_completed', data: { task_id: 'outline', member_id: 'bob', fencing_token: 1, result: 'six chapters' } }],
  [110, 'teams/docs', { type: 'task_created', data: { task_id: 'draft', title: 'Draft', blocked_by: ['outline'] } }],
  [120, 'teams/docs', { type: 'task_claimed', data: { task_id: 'draft', member_id: 'bob', fencing_token: 2, lease_ms: 60_000, lease_expires_at: iso(180) } }],
  [130, 'teams/docs', { type: 'message_sent', data: { message_id: 'm1', from: 'bob', to: 'ann', body: 'outline is in' } }],
  [140, 'teams/docs', { type: 'message_read', data: { message_id: 'm1', member_id: 'ann' } }],
  [150, 'teams/docs', { type: 'message_sent', data: { message_id: 'm2', from: 'ann', to: 'bob', body: 'thanks' } }],
  [160, 'teams/docs', { type: 'message_sent', data: { message_id: 'm3', from: 'ann', to: '*', body: 'standup at noon' } }],
  [300, 'teams/docs', { type: 'task_reclaimed', data: { task_id: 'draft', member_id: 'bob', fencing_token: 2, reason: 'lease_expired' } }],
  [400, 'teams/docs', { type: 'member_left', data: { member_id: 'bob', reason: 'done for today' } }],
  [500, 'sessions/ann-s', { type: 'session_ended', data: { reason: 'closed' } }],
  [550, 'teams/docs', { type: 'team_shutdown', data: { reason: 'wrapping up' } }],
  [600, 'teams/docs', { type: 'team_removed', data: { reason: 'cleanup' } }],
];

async function writeScript(dir: string): Promise<void> {
  const store = new JsonlEventStore({ dataDir: dir, logger: testLogger() });
  await store.open();
  for (const [seconds, stream, event] of SCRIPT) await store.append(stream, [event], { at: at(seconds) });
  await store.close();
}

test('the timeline of a scripted team matches its scenario, after the team was removed', async () => {
  const tmp = tempDir();
  try {
    const dataDir = join(tmp.dir, 'data');
    await writeScript(dataDir);
    const bmo = await startTestBmo(dataDir);
    try {
      assert.is((await call(bmo, 'GET', '/v1/teams/docs')).status, 404, 'the team itself is removed');
      const { json } = await ok(bmo, 200, 'GET', '/v1/teams/docs/timeline');
      assert.equal(json.team.status, 'removed');
      assert.equal(json.team.removed, { at: iso(600), pos: 19, reason: 'cleanup' });
      assert.equal(json.team.shutdown, { at: iso(550), pos: 18, reason: 'wrapping up' });
      assert.is(json.team.duration_ms, 600_000);
      assert.equal(json.lead, { member_id: 'ann', name: 'Ann', session_id: 'ann-s', gone: { how: 'ended', at: iso(500), reason: 'closed' } });
      assert.equal(json.counts, { events: 17, members: 2, tasks: 2, threads: 2, entries: 6 });
      assert.equal(
        json.entries.map((e: { kind: string; pos: number }) => [e.kind, e.pos]),
        [['member', 3], ['member', 4], ['task', 5], ['task', 9], ['thread', 11], ['thread', 14]],
      );
      const [ann, bob, outline, draft, direct, broadcast] = json.entries;
      assert.is(ann.active_ms, 600_000, 'a member who never left is measured to the removal');
      assert.equal([bob.joined_at, bob.left_at, bob.left_reason, bob.active_ms], [iso(10), iso(400), 'done for today', 390_000]);
      assert.equal([outline.status, outline.wait_ms, outline.duration_ms], ['completed', 10_000, 80_000]);
      assert.equal(outline.claims, [
        { member_id: 'bob', fencing_token: 1, claimed_at: iso(30), lease_ms: 60_000, lease_expires_at: iso(120), renewals: [iso(60)], renewal_count: 1, end: 'completed', ended_at: iso(100), held_ms: 70_000 },
      ]);
      assert.equal([draft.status, draft.blocked_by, draft.duration_ms], ['open', ['outline'], undefined]);
      assert.equal(
        draft.claims.map((c: { end: string; reclaim_reason: string; held_ms: number }) => [c.end, c.reclaim_reason, c.held_ms]),
        [['reclaimed', 'lease_expired', 180_000]],
      );
      assert.equal([direct.members, direct.message_count, direct.read_count, direct.span_ms], [['ann', 'bob'], 2, 1, 20_000]);
      assert.equal(direct.messages[0], { message_id: 'm1', from: 'bob', to: 'ann', sent_at: iso(130), reads: [{ member_id: 'ann', at: iso(140) }] });
      assert.equal([broadcast.members, broadcast.message_count], [['ann', '*'], 1]);
      assert.not.ok(JSON.stringify(json).includes('standup'), 'no message bodies');
    } finally {
      await bmo.close();
    }
    // The CLI opens the data directory itself: no server answers on the port it would try.
    writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
    const cli = await runBmoCli(['team', 'timeline', 'docs', '--data-dir', dataDir], tmp.dir, { BMO_TOKEN: TOKEN, BMO_PORT: String(await closedPort()) });
    assert.is(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, 'team docs "Docs sweep": created 2026-01-01 10:00:00Z, shut down 2026-01-01 10:09:10Z (wrapping up), removed (cleanup) 2026-01-01 10:10:00Z; 10m00s in all, 17 events');
    assert.match(cli.stdout, 'ann (lead)  joined 2026-01-01 10:00:00Z, a member until the team was removed, active 10m00s');
    assert.match(cli.stdout, 'lead ann gone (ended) 2026-01-01 10:08:20Z');
    assert.match(cli.stdout, 'bob  joined 2026-01-01 10:00:10Z, left 2026-01-01 10:06:40Z (done for today), active 6m30s');
    assert.match(cli.stdout, 'bob claimed 2026-01-01 10:00:30Z (token 1), renewed 1× (last 2026-01-01 10:01:00Z), completed 2026-01-01 10:01:40Z, held 1m10s');
    assert.match(cli.stdout, 'reclaimed (lease_expired) 2026-01-01 10:05:00Z, held 3m00s');
    assert.match(cli.stdout, 'ann ↔ bob: 2 message(s), 1 read');
    assert.match(cli.stdout, 'ann → everyone: 1 message(s)');
  } finally {
    tmp.cleanup();
  }
});

test('the timeline pages like every collection (limit, an opaque cursor, next_cursor, a Link to the next page), refuses a bad cursor naming the field, and is 404 for a team never created', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['m1', 'm2', 'm3']);
    for (const task of ['t1', 't2', 't3']) await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: task, title: task });
    const first = await ok(bmo, 200, 'GET', '/v1/teams/alpha/timeline?limit=4');
    assert.equal(first.json.entries.map((e: { member_id?: string; task_id?: string }) => e.member_id ?? e.task_id), ['lead', 'm1', 'm2', 'm3']);
    assert.is(first.json.counts.entries, 7);
    assert.is(first.headers.link, `</v1/teams/alpha/timeline?limit=4&cursor=${first.json.next_cursor}>; rel="next"`);
    const second = await ok(bmo, 200, 'GET', `/v1/teams/alpha/timeline?limit=4&cursor=${first.json.next_cursor}`);
    assert.equal(second.json.entries.map((e: { task_id: string }) => e.task_id), ['t1', 't2', 't3']);
    assert.is(second.json.next_cursor, null);
    assert.is(second.headers.link, undefined);
    for (const [query, field] of [
      ['cursor=xyz', 'cursor'],
      ['limit=1001', 'query.limit'],
    ]) {
      const bad = await call(bmo, 'GET', `/v1/teams/alpha/timeline?${query}`);
      assert.is(bad.status, 400, query);
      assert.is(bad.json.field, field, query);
    }
    const missing = await call(bmo, 'GET', '/v1/teams/nope/timeline');
    assert.is(missing.status, 404);
    assert.is(missing.json.field, 'id');
  }),
);

test.run();
