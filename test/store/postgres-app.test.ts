import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { ConfigError } from '../../src/config/config.js';
import { call, runBmoCli, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { PG_URL, dropSchema, randomSchema, runWithPostgres, sql } from '../fixtures/pg-schema.js';
import { OPERATIONS_STREAM_ID, operationsEntity } from '../../src/domain/system.js';
import { finishOperations } from '../../src/pipeline/operations.js';
import { until } from '../helpers/wait.js';

// `[store] backend = "postgres"`: two bmo on one schema serve the same teams, whichever took the write.

const it = suite('postgres: bmo on a shared schema');

const teamIds = async (bmo: Bmo) => ((await call(bmo, 'GET', '/v1/teams')).json?.teams ?? []).map((t: { team_id: string }) => t.team_id).sort();

/** Gives `body` a way to start bmo on one fresh schema (each with its own data dir); closes them and drops the schema after. */
async function onSharedSchema(body: (start: () => Promise<Bmo>, schema: string, stop: (bmo: Bmo) => Promise<void>) => Promise<void>): Promise<void> {
  const schema = randomSchema();
  const dirs: ReturnType<typeof tempDir>[] = [];
  const started: Bmo[] = [];
  const start = async () => {
    const dir = tempDir('bmo-pg-');
    dirs.push(dir);
    const bmo = await startTestBmo(dir.dir, { overrides: { store: { backend: 'postgres', url: PG_URL, schema } } });
    started.push(bmo);
    return bmo;
  };
  const stop = async (bmo: Bmo) => {
    started.splice(started.indexOf(bmo), 1);
    await bmo.close();
  };
  try {
    await body(start, schema, stop);
  } finally {
    for (const bmo of started) await bmo.close();
    await dropSchema(schema);
    for (const dir of dirs) dir.cleanup();
  }
}

it('a team created through one bmo is served by another on the same schema, and by one started later', () =>
  onSharedSchema(async (start) => {
    const first = await start();
    const second = await start();

    const created = await call(first, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', goal: 'ship', lead: { member_id: 'boss', name: 'Boss' } });
    assert.is(created.status, 201, created.body);
    await until(async () => (await teamIds(second)).includes('alpha'), 'the second bmo to list alpha', 10_000);
    const team = await call(second, 'GET', '/v1/teams/alpha');
    assert.is(team.status, 200, team.body);
    assert.is(team.json.name, 'Alpha');

    // The other way round, on another team.
    const other = await call(second, 'POST', '/v1/teams', { id: 'beta', name: 'Beta', lead: { member_id: 'lead', name: 'Lead' } });
    assert.is(other.status, 201, other.body);
    await until(async () => (await teamIds(first)).join() === 'alpha,beta', 'the first bmo to list beta', 10_000);
    assert.is(first.pipeline.store.head(), second.pipeline.store.head());

    const third = await start();
    assert.equal(await teamIds(third), ['alpha', 'beta'], 'a bmo started later replays the shared log');
    assert.is(third.pipeline.store.head(), first.pipeline.store.head());
  }),
);

it('a bmo whose team was moved by another on the same schema still writes to it, and If-Match sees the moved version', () =>
  onSharedSchema(async (start) => {
    const first = await start();
    const second = await start();

    // The first bmo decides on alpha (so it holds a write model), then the second moves alpha.
    assert.is((await call(first, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { member_id: 'boss', name: 'Boss' } })).status, 201);
    assert.is((await call(first, 'POST', '/v1/teams/alpha/members', { member_id: 'ann', name: 'Ann' })).status, 201);
    await until(async () => (await call(second, 'GET', '/v1/teams/alpha')).json?.members?.some((m: { member_id: string }) => m.member_id === 'ann'), 'the second bmo to see ann', 10_000);
    const moved = await call(second, 'POST', '/v1/teams/alpha/members', { member_id: 'bob', name: 'Bob' });
    assert.is(moved.status, 201, moved.body);
    await until(async () => (await call(first, 'GET', '/v1/teams/alpha')).json?.members?.some((m: { member_id: string }) => m.member_id === 'bob'), 'the first bmo to see bob', 10_000);

    const joined = await call(first, 'POST', '/v1/teams/alpha/members', { member_id: 'cy', name: 'Cy' });
    assert.is(joined.status, 201, `the first bmo decides on alpha as it is now, not as it last wrote it: ${joined.body}`);
    const read = await call(first, 'GET', '/v1/teams/alpha');
    const withIfMatch = await call(first, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'x' }, { 'if-match': read.headers.etag as string });
    assert.is(withIfMatch.status, 201, `If-Match with the version just read is accepted: ${withIfMatch.body}`);
    const stale = await call(second, 'POST', '/v1/teams/alpha/tasks', { task_id: 't2', title: 'y' }, { 'if-match': read.headers.etag as string });
    assert.is(stale.status, 409, `If-Match with a version another bmo moved past is 409: ${stale.body}`);
    const ids = (await call(first, 'GET', '/v1/teams/alpha')).json.members.map((m: { member_id: string }) => m.member_id).sort();
    assert.equal(ids, ['ann', 'bob', 'boss', 'cy']);
  }),
);

it('two bmo writing one team at once: plain writes all land, an If-Match read from one holds on the other, a keyed retry on the other is the same request', () =>
  onSharedSchema(async (start) => {
    const a = await start();
    const b = await start();
    assert.is((await call(a, 'POST', '/v1/teams', { id: 'busy', name: 'Busy', lead: { member_id: 'lead', name: 'Lead' } })).status, 201);
    assert.is((await call(a, 'POST', '/v1/teams/busy/members', { member_id: 'bob', name: 'Bob' })).status, 201);
    await until(async () => (await call(b, 'GET', '/v1/teams/busy')).json?.members?.length === 2, 'b to see bob', 10_000);

    // Four writers, two on each instance, no If-Match: each is decided again on fresh state until it lands.
    const refusals: string[] = [];
    const writer = (bmo: Bmo, n: number) => async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const sent = await call(bmo, 'POST', '/v1/teams/busy/messages', { from: 'lead', to: 'bob', body: `${n}.${i}` });
        if (sent.status !== 201) refusals.push(`${sent.status} ${sent.body}`);
        statuses.push(sent.status);
      }
      return statuses;
    };
    const statuses = (await Promise.all([writer(a, 1)(), writer(b, 2)(), writer(a, 3)(), writer(b, 4)()])).flat();
    assert.equal(statuses.filter((s) => s !== 201).length, 0, `no plain write was refused (${statuses.filter((s) => s !== 201).length} of ${statuses.length} were: ${refusals.join('; ')})`);

    // A version one instance answered, sent at once as If-Match to the other.
    for (let i = 0; i < 20; i++) {
      const made = await call(a, 'POST', '/v1/teams/busy/tasks', { title: `a${i}` });
      assert.is(made.status, 201, made.body);
      const next = await call(b, 'POST', '/v1/teams/busy/tasks', { title: `b${i}` }, { 'if-match': `"${made.json.version}"` });
      assert.is(next.status, 201, `If-Match ${made.json.version} on the other instance: ${next.body}`);
    }

    // A keyed request answered by one instance, retried at once on the other.
    for (let i = 0; i < 20; i++) {
      const key = { 'idempotency-key': `k${i}` };
      const first = await call(a, 'POST', '/v1/teams/busy/messages', { from: 'lead', to: 'bob', body: `keyed ${i}` }, key);
      const retry = await call(b, 'POST', '/v1/teams/busy/messages', { from: 'lead', to: 'bob', body: `keyed ${i}` }, key);
      assert.is(retry.status, 201, retry.body);
      assert.is(retry.json.message_id, first.json.message_id, `retry ${i} answers the first request`);
    }
    const log = (await call(a, 'GET', '/v1/teams/busy/events?limit=1000')).json.events as { type: string; data: { body?: string } }[];
    assert.is(log.filter((e) => e.type === 'message_sent').length, 160 + 20, 'every plain write once, every keyed one once');
  }),
);

it('an operation another live instance runs is left to it: not finished by one starting up, its keyed retry elsewhere refused 409; once that instance is gone, the next to start finishes it, every target once', () =>
  onSharedSchema(async (start, _schema, stop) => {
    const a = await start();
    await call(a, 'POST', '/v1/sessions', { session_id: 'gone', lease_ms: 60_000 });
    const orphans = ['o1', 'o2', 'o3'];
    for (const id of orphans) assert.is((await call(a, 'POST', '/v1/teams', { id, name: id, lead: { member_id: 'lead', name: 'Lead', session_id: 'gone' } })).status, 201);
    await call(a, 'POST', '/v1/sessions/gone/end', { reason: 'done' });
    // a is part way through a keyed cleanup: its intent is recorded, no team is removed yet.
    const operation = { operation_id: 'op-of-a', kind: 'cleanup' as const, targets: orphans.map((id) => `teams/${id}`), key: 'clean-1', request_hash: 'h', scope: 'all' as const, instance: a.pipeline.store.instanceId };
    await a.pipeline.execute(operationsEntity, OPERATIONS_STREAM_ID, { type: 'start_operation', operation });

    const b = await start();
    assert.ok(b.pipeline.readModels.operations.has('op-of-a'), 'b replayed the open operation');
    assert.is(await finishOperations(b.pipeline), 0, 'b finishes nothing another running instance runs (as on its sweep)');
    const removed = (bmo: Bmo) => orphans.filter((id) => bmo.pipeline.readModels.teams.get(id)?.status === 'removed').length;
    assert.is(removed(b), 0, 'b started up without finishing a live instance\'s operation');
    const retry = await call(b, 'POST', '/v1/teams/cleanup', { scope: 'all' }, { 'idempotency-key': 'clean-1' });
    assert.is(retry.status, 409, retry.body);
    assert.match(retry.json.message, /still running on another bmo instance/);

    await stop(a); // its lock goes with its connection, as when its process dies
    const c = await start();
    assert.ok(!c.pipeline.readModels.operations.has('op-of-a'), 'c finished the operation of the instance that is gone on startup');
    assert.is(removed(c), orphans.length);
    await until(async () => !b.pipeline.readModels.operations.has('op-of-a'), 'b to see the operation completed', 10_000);
    const rows = await sql<{ stream: string; type: string }>(`SELECT stream, type FROM "${_schema}".events WHERE line::jsonb -> 'meta' ->> 'operation_id' = 'op-of-a' OR stream = 'system/operations' ORDER BY pos`);
    assert.equal(rows.map((r) => `${r.stream} ${r.type}`), ['system/operations operation_started', ...orphans.map((id) => `teams/${id} team_removed`), 'system/cleanup cleanup_completed', 'system/operations operation_completed']);
  }),
);

it('bmo import moves a jsonl store into PostgreSQL: the same lines, byte for byte, and the same answers', () =>
  onSharedSchema(async (start, schema) => {
    const source = tempDir('bmo-pg-');
    try {
      const jsonl = await startTestBmo(source.dir);
      assert.is((await call(jsonl, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', goal: 'ship', lead: { member_id: 'boss', name: 'Boss' } })).status, 201);
      assert.is((await call(jsonl, 'POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' })).status, 201);
      assert.is((await call(jsonl, 'POST', '/v1/workstreams', { id: 'w1', label: 'docs/one' })).status, 201);
      const before = (await call(jsonl, 'GET', '/v1/teams/alpha')).json;
      const linesBefore = (await jsonl.pipeline.store.readAll(0)).events.map((e) => e.line.toString());
      await jsonl.close();

      const file = join(source.dir, 'all.ndjson');
      assert.is((await runBmoCli(['export', '--out', file], source.dir, { BMO_DATA_DIR: source.dir })).code, 0);
      const imported = await runBmoCli(['import', file, '--backend', 'postgres', '--store-url', PG_URL, '--schema', schema], source.dir);
      assert.is(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /imported 4 events in 2 streams into PostgreSQL .* schema bmo_test_/);

      const pg = await start();
      assert.equal((await pg.pipeline.store.readAll(0)).events.map((e) => e.line.toString()), linesBefore);
      assert.equal((await call(pg, 'GET', '/v1/teams/alpha')).json, before);
    } finally {
      source.cleanup();
    }
  }),
);

it('backend = "postgres" without a url says what to set', async () => {
  const { dir, cleanup } = tempDir('bmo-pg-');
  try {
    let refused: unknown;
    try {
      await (await startTestBmo(dir, { overrides: { store: { backend: 'postgres' } } })).close();
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, ConfigError);
    assert.match((refused as Error).message, /\[store\] url = "postgres:\/\/.*, or BMO_STORE_URL, or --store-url/);
  } finally {
    cleanup();
  }
});

await runWithPostgres('postgres app', () => it.run());
