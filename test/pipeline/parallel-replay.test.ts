import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { CorruptLogError } from '../../src/errors.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { JsonlEventStore } from '../../src/store/index.js';
import { call, startTestBmo, testLogger } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// A large store replays part of its logs on worker threads, each folding its own streams, and
// merges what they folded: the read models must equal those of a replay on one thread, and a
// corrupt or torn log on a worker's share is handled as on this thread's.

async function must(bmo: Bmo, status: number, method: string, url: string, body?: unknown, headers?: Record<string, string>) {
  const res = await call(bmo, method, url, body, headers);
  assert.is(res.status, status, `${method} ${url}: ${res.body}`);
}

const run = (argv: string[], exit_code: number, truncated = false) => ({ argv, cwd: '/work', exit_code, signal: null, duration_ms: 5, output_tail: 'x\n', truncated, timed_out: false });

/** Teams, sessions, workstreams sharing commands and paths, a cleanup, idempotency keys: every read model has something. */
async function fill(bmo: Bmo): Promise<void> {
  for (let s = 0; s < 6; s++) await must(bmo, 201, 'POST', '/v1/sessions', { session_id: `s${s}`, lease_ms: 3_600_000 });
  for (let t = 0; t < 24; t++) {
    await must(bmo, 201, 'POST', '/v1/teams', { id: `t${t}`, name: `T${t}`, lead: { member_id: 'lead', name: 'L', session_id: `s${t % 6}` } });
    await must(bmo, 201, 'POST', `/v1/teams/t${t}/members`, { member_id: 'w', name: 'W' }, { 'idempotency-key': `join-${t}` });
    await must(bmo, 201, 'POST', `/v1/teams/t${t}/tasks`, { task_id: 'a', title: 'a' });
    await must(bmo, 201, 'POST', `/v1/teams/t${t}/tasks`, { task_id: 'b', title: 'b', blocked_by: ['a'] });
    await must(bmo, 201, 'POST', `/v1/teams/t${t}/messages`, { from: 'lead', to: t % 2 ? '*' : 'w', body: 'hello' });
  }
  for (let w = 0; w < 12; w++) {
    const id = `w${w}`;
    await must(bmo, 201, 'POST', '/v1/workstreams', { id, label: `docs/part-${w}` });
    await must(bmo, 200, 'PUT', `/v1/workstreams/${id}/plan`, { path: 'docs/plan.md', kind: 'custom' });
    // One command run from every workstream, failing now and then: the trail's window crosses partitions.
    await must(bmo, 201, 'POST', `/v1/workstreams/${id}/verify-runs`, run(['pnpm', 'build'], w % 3 === 0 ? 1 : 0, w % 4 === 0));
    await must(bmo, 201, 'POST', `/v1/workstreams/${id}/markers`, { path: 'src/risky.ts', note: 'inspect first' });
    await must(bmo, 201, 'POST', `/v1/workstreams/${id}/findings`, { severity: 'low', path: 'src/risky.ts', text: 'seen' });
  }
  await must(bmo, 200, 'POST', '/v1/sessions/s1/end', {});
  await must(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
}

/** A temp data directory holding what `fill` writes; removed after `body`. */
async function withFilledStore(body: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('bmo-parallel-');
  try {
    const bmo = await startTestBmo(dir);
    await fill(bmo);
    await bmo.close();
    await body(dir);
  } finally {
    cleanup();
  }
}

const silent = testLogger();

async function replay(dir: string, replayWorkers: number) {
  const pipeline = new Pipeline({ store: new JsonlEventStore({ dataDir: dir, logger: silent }), logger: silent, replayWorkers, replayMinStreams: 0 });
  await pipeline.start();
  const { teams, recent, idempotency, sessions, remote, workstreams, cartography, pos } = pipeline.readModels;
  const models = { teams, recent, idempotency, sessions, remote, workstreams, cartography, pos };
  const head = pipeline.store.head();
  await pipeline.stop();
  return { models, head };
}

test('a replay on 1, 2 and 3 worker threads folds the same read models as one on this thread alone', () =>
  withFilledStore(async (dir) => {
    const alone = await replay(dir, 0);
    assert.ok(alone.models.teams.size === 24 && alone.models.workstreams.size === 12 && alone.models.cartography.commands.size === 1, 'the store holds what was written');
    for (const workers of [1, 2, 3]) {
      const shared = await replay(dir, workers);
      assert.is(shared.head, alone.head);
      for (const name of Object.keys(alone.models) as (keyof typeof alone.models)[]) {
        assert.equal(shared.models[name], alone.models[name], `${name} with ${workers} workers`);
      }
    }
  }),
);

/** The team logs of the store, sorted: with 1 worker and 24 teams among 43 logs, some are the worker's. */
const teamLogs = (dir: string) => readdirSync(join(dir, 'teams')).sort().map((id) => join(dir, 'teams', id, 'events.jsonl'));

test("a corrupt middle line in any log, also a worker's, stops the start naming file and line", () =>
  withFilledStore(async (dir) => {
    for (const file of teamLogs(dir)) {
      const original = readFileSync(file, 'utf8');
      const lines = original.split('\n');
      lines[1] = lines[1].replace('"lead"', '"leed"');
      assert.is.not(lines.join('\n'), original);
      writeFileSync(file, lines.join('\n'));
      let refused: unknown;
      try {
        await replay(dir, 1);
      } catch (error) {
        refused = error;
      }
      assert.instance(refused, CorruptLogError, file);
      assert.is((refused as CorruptLogError).file, file);
      assert.is((refused as CorruptLogError).line, 2);
      writeFileSync(file, original);
    }
  }),
);

test("a torn tail on any log, also a worker's, is cut off and kept, and the rest replays", () =>
  withFilledStore(async (dir) => {
    const before = await replay(dir, 0);
    for (const file of teamLogs(dir)) appendFileSync(file, '{"pos":99999,"stream":"teams/x","se');
    const after = await replay(dir, 1);
    assert.equal(after.models, before.models);
    for (const file of teamLogs(dir)) {
      assert.not.match(readFileSync(file, 'utf8'), /99999/, `${file} was cut back`);
      assert.ok(readdirSync(join(file, '..')).some((name) => name.startsWith('events.jsonl.torn-')), `${file}'s tail was kept`);
    }
  }),
);

test('the replay says how far it got in logs: the last progress line has every log and 100 percent', async () => {
  const { dir, cleanup } = tempDir('bmo-replay-');
  try {
    const first = await startTestBmo(dir);
    for (const id of ['a', 'b', 'c']) await must(first, 201, 'POST', '/v1/teams', { id, name: id, lead: { member_id: 'lead', name: 'L' } });
    await first.close();
    const lines: string[] = [];
    const again = await startTestBmo(dir, { logLines: lines });
    await again.close();
    const progress = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'replaying the log');
    assert.equal(progress.at(-1), { ...progress.at(-1), events: 6, percent: 100, logs: 3 });
    assert.not.ok('streams' in progress.at(-1)!, 'no field that counts something else than its name says');
  } finally {
    cleanup();
  }
});

test.run();
