import { existsSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { call, okJson, readLog, runBmoCli, spawnServer, TOKEN, withBmo, type ServerProcess } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// Orphan cleanup as the seed fixes it: every team whose lead session no longer exists (ended or
// lapsed) is removed with `team_removed` (reason cleanup), and every attempt appends exactly one
// `cleanup_completed` with removed=N and scope all|single, also when N is 0. Nothing is deleted.

interface Line {
  pos: number;
  stream: string;
  seq: number;
  type: string;
  data: Record<string, any>;
  meta: Record<string, any>;
}

/** Every file under the data directory (relative paths), sorted. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** Every event of every log in the data directory, in pos order. */
function allEvents(dir: string): Line[] {
  return files(dir)
    .filter((f) => f.endsWith('events.jsonl'))
    .flatMap((f) => readLog<Line>(join(dir, f)))
    .sort((a, b) => a.pos - b.pos);
}

const cleanupLog = (dir: string) => readLog<Line>(join(dir, 'system', 'cleanup', 'events.jsonl'));

/** A team whose lead is the given session. */
async function teamLedBy(bmo: Bmo, teamId: string, sessionId?: string) {
  await okJson(bmo, 201, 'POST', '/v1/teams', { id: teamId, name: `Team ${teamId}`, goal: 'g', lead: { member_id: 'lead', name: 'Lead', session_id: sessionId } });
}

/** A bmo on a clock the test moves on: a session lapses when the test says so. */
const withClock = (fn: (bmo: Bmo, dir: string, clock: TestClock) => Promise<void>) => {
  const clock = new TestClock();
  return withBmo((bmo, dir) => fn(bmo, dir, clock), { clock });
};

test('cleanup --all removes exactly the teams whose lead session ended or lapsed and records one cleanup_completed (removed=N, scope=all)', () =>
  withClock(async (bmo, dir, clock) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-lapsed-1', lease_ms: 1000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-lapsed-2', lease_ms: 1000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-ended', lease_ms: 60_000 });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-alive', lease_ms: 60_000 });
    await teamLedBy(bmo, 't-lapsed-1', 's-lapsed-1');
    await teamLedBy(bmo, 't-lapsed-2', 's-lapsed-2');
    await teamLedBy(bmo, 't-ended', 's-ended');
    await teamLedBy(bmo, 't-alive', 's-alive');
    await teamLedBy(bmo, 't-no-lead-session');
    await okJson(bmo, 200, 'POST', '/v1/sessions/s-ended/end', { reason: 'done' });
    await clock.advance(1000);
    assert.is((await call(bmo, 'GET', '/v1/sessions/s-lapsed-2')).json.state, 'lapsed');
    assert.is((await call(bmo, 'GET', '/v1/sessions/s-lapsed-1')).json.state, 'lapsed');

    const versions = Object.fromEntries(['t-lapsed-1', 't-lapsed-2', 't-ended', 't-alive', 't-no-lead-session'].map((t) => [t, bmo.pipeline.store.version(`teams/${t}`)]));
    const filesBefore = files(dir);
    const head = bmo.pipeline.store.head();

    const result = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
    assert.is(result.scope, 'all');
    assert.is(result.removed, 3);
    assert.equal([...result.team_ids].sort(), ['t-ended', 't-lapsed-1', 't-lapsed-2']);

    const audit = cleanupLog(dir);
    assert.is(audit.length, 1, 'exactly one cleanup_completed');
    assert.is(audit[0].type, 'cleanup_completed');
    assert.is(audit[0].data.removed, 3);
    assert.is(audit[0].data.scope, 'all');

    // The intent naming the three orphans, team_removed (reason cleanup) on each, the one audit event, the end.
    const appended = allEvents(dir).filter((e) => e.pos > head);
    assert.equal(
      appended.map((e) => [e.stream, e.type, e.data.reason]),
      [
        ['system/operations', 'operation_started', undefined],
        ...result.team_ids.map((id: string) => [`teams/${id}`, 'team_removed', 'cleanup']),
        ['system/cleanup', 'cleanup_completed', undefined],
        ['system/operations', 'operation_completed', undefined],
      ],
    );
    const operationId = appended[0].data.operation_id;
    assert.equal(appended[0].data.targets.slice().sort(), result.team_ids.map((id: string) => `teams/${id}`).sort(), 'the intent names every orphan');
    for (const event of appended) assert.is(event.meta.operation_id, event.stream === 'system/operations' ? undefined : operationId, `${event.type} carries the operation`);
    for (const id of ['t-lapsed-1', 't-lapsed-2', 't-ended']) assert.is(bmo.pipeline.store.version(`teams/${id}`), versions[id] + 1, id);
    for (const id of ['t-alive', 't-no-lead-session']) assert.is(bmo.pipeline.store.version(`teams/${id}`), versions[id], `${id} is untouched`);

    // Nothing deleted: every file is still there, the only new ones are the audit log and the operations log.
    const filesAfter = files(dir);
    for (const file of filesBefore) assert.ok(filesAfter.includes(file), `${file} was deleted`);
    assert.equal(
      filesAfter.filter((f) => !filesBefore.includes(f) && f.endsWith('events.jsonl')).sort(),
      [join('system', 'cleanup', 'events.jsonl'), join('system', 'operations', 'events.jsonl')].sort(),
    );
    assert.ok(existsSync(join(dir, 'teams', 't-ended', 'events.jsonl')));

    // Removed teams are gone from reads and the posture; their logs stay readable.
    const gone = await call(bmo, 'GET', '/v1/teams/t-ended');
    assert.is(gone.status, 404);
    assert.match(gone.json.message, /cleanup/);
    assert.is((await call(bmo, 'GET', '/v1/teams/t-ended/events')).status, 200);
    const listed = await okJson(bmo, 200, 'GET', '/v1/teams');
    assert.equal(listed.teams.map((t: { team_id: string }) => t.team_id).sort(), ['t-alive', 't-no-lead-session']);
    const posture = await okJson(bmo, 200, 'GET', '/v1/teams/posture');
    assert.is(posture.team_count, 2);
    assert.ok(posture.recent.some((e: { type: string; outcome?: string }) => e.type === 'cleanup_completed' && e.outcome === 'removed=3 scope=all outcome=completed'));
  }),
);

test('a cleanup with no stale team still records one cleanup_completed with removed=0, and each attempt records its own', () =>
  withClock(async (bmo, dir, clock) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-alive', lease_ms: 60_000 });
    await teamLedBy(bmo, 't-alive', 's-alive');
    const version = bmo.pipeline.store.version('teams/t-alive');

    const first = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
    assert.equal([first.removed, first.scope, first.team_ids], [0, 'all', []]);
    assert.equal(
      cleanupLog(dir).map((e) => [e.type, e.data.removed, e.data.scope]),
      [['cleanup_completed', 0, 'all']],
    );

    // The default scope is all, and a second attempt is recorded too.
    const second = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', {});
    assert.is(second.scope, 'all');
    assert.equal(
      cleanupLog(dir).map((e) => [e.type, e.data.removed, e.data.scope]),
      [
        ['cleanup_completed', 0, 'all'],
        ['cleanup_completed', 0, 'all'],
      ],
    );
    assert.is(bmo.pipeline.store.version('teams/t-alive'), version, 'the team with a live lead is untouched');
  }),
);

test('a lead that restarted under a new session joins again from it: its team is not an orphan, the posture sees its lead alive, and the old session is what a timeline names no more', () =>
  withClock(async (bmo) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-old', lease_ms: 1000 });
    await teamLedBy(bmo, 't-restarted', 's-old');
    await teamLedBy(bmo, 't-orphan', 's-old');
    await okJson(bmo, 200, 'POST', '/v1/sessions/s-old/end', {});
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-new', lease_ms: 60_000 });
    const moved = await okJson(bmo, 200, 'POST', '/v1/teams/t-restarted/members', { member_id: 'lead', name: 'Lead', session_id: 's-new' });
    assert.equal(moved.events.map((e: Line) => [e.type, e.data]), [['member_session_moved', { member_id: 'lead', session_id: 's-new', previous_session_id: 's-old' }]]);
    const ontoEnded = await call(bmo, 'POST', '/v1/teams/t-orphan/members', { member_id: 'lead', name: 'Lead', session_id: 's-old' });
    assert.equal([ontoEnded.status, ontoEnded.json.field], [409, 'session_id'], 'an ended session keeps nothing alive: not a session to move to');
    const again = await okJson(bmo, 200, 'POST', '/v1/teams/t-restarted/members', { member_id: 'lead', name: 'Lead', session_id: 's-new' });
    assert.equal(again.events, [], 'from the same session: nothing to change');
    const team = await okJson(bmo, 200, 'GET', '/v1/teams/t-restarted');
    assert.equal([team.lead_session_id, team.members.find((m: { member_id: string }) => m.member_id === 'lead').session_id], ['s-new', 's-new']);
    const posture = await okJson(bmo, 200, 'GET', '/v1/teams/posture');
    const lead = (id: string) => posture.teams.find((t: { team_id: string }) => t.team_id === id).lead;
    assert.equal([lead('t-restarted'), lead('t-orphan')], ['alive', 'gone']);
    const cleaned = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
    assert.equal(cleaned.team_ids, ['t-orphan']);
    const timeline = await okJson(bmo, 200, 'GET', '/v1/teams/t-restarted/timeline');
    assert.equal([timeline.lead.session_id, timeline.lead.gone], ['s-new', null]);
  }),
);

test('single-team cleanup records scope=single, removes only that team, and leaves a team with a live lead alone', () =>
  withClock(async (bmo, dir, clock) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-gone-1' });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-gone-2' });
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-alive', lease_ms: 60_000 });
    await teamLedBy(bmo, 'orphan-1', 's-gone-1');
    await teamLedBy(bmo, 'orphan-2', 's-gone-2');
    await teamLedBy(bmo, 'alive', 's-alive');
    await okJson(bmo, 200, 'POST', '/v1/sessions/s-gone-1/end');
    await okJson(bmo, 200, 'POST', '/v1/sessions/s-gone-2/end');

    const single = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'orphan-1' });
    assert.equal([single.scope, single.removed, single.team_ids], ['single', 1, ['orphan-1']]);
    assert.is((await call(bmo, 'GET', '/v1/teams/orphan-1')).status, 404);
    assert.is((await call(bmo, 'GET', '/v1/teams/orphan-2')).status, 200, 'the other orphan is not in scope');

    const aliveVersion = bmo.pipeline.store.version('teams/alive');
    const untouched = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'alive' });
    assert.equal([untouched.scope, untouched.removed], ['single', 0]);
    assert.is(bmo.pipeline.store.version('teams/alive'), aliveVersion);

    assert.equal(
      cleanupLog(dir).map((e) => [e.data.scope, e.data.removed, e.data.team_ids]),
      [
        ['single', 1, ['orphan-1']],
        ['single', 0, []],
      ],
    );
    const removedLog = readLog(join(dir, 'teams', 'orphan-1', 'events.jsonl'));
    assert.equal(removedLog.at(-1)!.type, 'team_removed');
    assert.equal(removedLog.at(-1)!.data, { reason: 'cleanup' });

    // An unknown team is 404 and the attempt is audited (outcome not_found); scope single without team_id is 400 and writes nothing.
    assert.is((await call(bmo, 'POST', '/v1/teams/cleanup', { scope: 'single', team_id: 'no-such-team' })).status, 404);
    const head = bmo.pipeline.store.head();
    assert.is((await call(bmo, 'POST', '/v1/teams/cleanup', { scope: 'single' })).status, 400);
    assert.is(bmo.pipeline.store.head(), head);
    assert.equal(
      cleanupLog(dir).map((e) => [e.data.removed, e.data.outcome, e.data.team_id]),
      [
        [1, 'completed', 'orphan-1'],
        [0, 'completed', 'alive'],
        [0, 'not_found', 'no-such-team'],
      ],
    );
  }),
);

test('a cleanup with If-Match is refused before it writes anything: no one version applies to every team it may remove', () =>
  withClock(async (bmo, dir, clock) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 'gone', lease_ms: 1000 });
    await teamLedBy(bmo, 'orphan-a', 'gone');
    await teamLedBy(bmo, 'orphan-b', 'gone');
    await okJson(bmo, 200, 'POST', '/v1/sessions/gone/end', {});
    const before = allEvents(dir).length;
    for (const ifMatch of ['2', '3']) {
      const refused = await call(bmo, 'POST', '/v1/teams/cleanup', { scope: 'all' }, { 'if-match': ifMatch });
      assert.is(refused.status, 400, refused.body);
      assert.is(refused.json.field, 'If-Match');
      assert.match(refused.json.message, /without If-Match/);
    }
    assert.is(allEvents(dir).length, before, 'no team removed, no cleanup recorded');
    const cleaned = await okJson(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
    assert.equal(cleaned.team_ids.sort(), ['orphan-a', 'orphan-b']);
  }),
);

test('a cleanup retried with its Idempotency-Key, also while the first runs, answers as the first did and records one cleanup_completed', () =>
  withClock(async (bmo, dir, clock) => {
    await okJson(bmo, 201, 'POST', '/v1/sessions', { session_id: 's-gone' });
    await teamLedBy(bmo, 'orphan', 's-gone');
    await okJson(bmo, 200, 'POST', '/v1/sessions/s-gone/end');
    const body = { scope: 'single', team_id: 'orphan' };
    const headers = { 'idempotency-key': 'cleanup-orphan-1' };
    const [first, second] = await Promise.all([call(bmo, 'POST', '/v1/teams/cleanup', body, headers), call(bmo, 'POST', '/v1/teams/cleanup', body, headers)]);
    const later = await call(bmo, 'POST', '/v1/teams/cleanup', body, headers);
    for (const answer of [first, second, later]) {
      assert.is(answer.status, 200, answer.body);
      assert.equal([answer.json.scope, answer.json.removed, answer.json.team_ids], ['single', 1, ['orphan']]);
    }
    assert.is(cleanupLog(dir).length, 1, 'one cleanup_completed');
    assert.is(readLog(join(dir, 'teams', 'orphan', 'events.jsonl')).filter((e) => e.type === 'team_removed').length, 1);
  }),
);

// ---- the CLI against a real `bmo serve` ------------------------------------------------------

async function send(server: ServerProcess, method: string, url: string, body?: unknown) {
  const res = await fetch(server.url + url, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.status < 300, `${method} ${url} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

test('`bmo team cleanup --all --json` against a running server removes the orphans and records one cleanup_completed; `cleanup <id>` records scope=single', async () => {
  const tmp = tempDir('bmo-operator-cli-');
  let server: ServerProcess | undefined;
  try {
    const dataDir = join(tmp.dir, 'data');
    const cliDir = join(tmp.dir, 'cli');
    mkdirSync(cliDir);
    mkdirSync(dataDir); // spawnServer runs the server with the data directory as its cwd
    writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
    server = await spawnServer(dataDir, { BMO_CONFIG: join(tmp.dir, 'bmo.toml') });

    await send(server, 'POST', '/v1/sessions', { session_id: 'lead-a' });
    await send(server, 'POST', '/v1/sessions', { session_id: 'lead-b' });
    await send(server, 'POST', '/v1/sessions', { session_id: 'lead-live', lease_ms: 60_000 });
    for (const [team, lead] of [
      ['orphan-a', 'lead-a'],
      ['orphan-b', 'lead-b'],
      ['live', 'lead-live'],
    ]) {
      await send(server, 'POST', '/v1/teams', { id: team, name: team, lead: { name: 'Lead', session_id: lead } });
    }
    await send(server, 'POST', '/v1/sessions/lead-a/end');
    await send(server, 'POST', '/v1/sessions/lead-b/end');

    const env = { BMO_URL: server.url, BMO_TOKEN: TOKEN };
    const all = await runBmoCli(['team', 'cleanup', '--all', '--json'], cliDir, env);
    assert.is(all.code, 0, all.stderr);
    const result = JSON.parse(all.stdout);
    assert.is(result.scope, 'all');
    assert.is(result.removed, 2);
    assert.equal([...result.team_ids].sort(), ['orphan-a', 'orphan-b']);
    assert.equal(
      cleanupLog(dataDir).map((e) => [e.type, e.data.removed, e.data.scope]),
      [['cleanup_completed', 2, 'all']],
    );
    for (const team of ['orphan-a', 'orphan-b']) {
      const log = readLog(join(dataDir, 'teams', team, 'events.jsonl'));
      assert.equal([log.at(-1)!.type, log.at(-1)!.data.reason], ['team_removed', 'cleanup']);
    }
    assert.is(readLog(join(dataDir, 'teams', 'live', 'events.jsonl')).at(-1)!.type, 'member_joined', 'the team with a live lead is untouched');
    assert.not.ok(existsSync(join(cliDir, 'data')), 'the CLI talked to the server; it did not open a data directory of its own');

    const again = await runBmoCli(['team', 'cleanup', '--all', '--json'], cliDir, env);
    assert.is(again.code, 0, again.stderr);
    assert.is(JSON.parse(again.stdout).removed, 0);

    const single = await runBmoCli(['team', 'cleanup', 'live', '--json'], cliDir, env);
    assert.is(single.code, 0, single.stderr);
    assert.equal([JSON.parse(single.stdout).scope, JSON.parse(single.stdout).removed], ['single', 0]);
    assert.equal(
      cleanupLog(dataDir).map((e) => [e.data.removed, e.data.scope]),
      [
        [2, 'all'],
        [0, 'all'],
        [0, 'single'],
      ],
    );
  } finally {
    await server?.stop('SIGKILL').catch(() => {});
    tmp.cleanup();
  }
});

test.run();
