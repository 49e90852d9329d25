import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Envelope } from '../../events/index.js';
import { BmoError, VersionConflictError } from '../../src/errors.js';
import type { StoredEvent } from '../../src/store/index.js';
import { PostgresEventStore } from '../../src/store/postgres.js';
import { testLogger } from '../helpers/bmo.js';
import { PG_URL, dropSchema, randomSchema, runWithPostgres, sql } from '../fixtures/pg-schema.js';
import { collect, message } from './contract.js';
import { until } from '../helpers/wait.js';

// A database error is not a disk failure: the appends it hits are refused with store_unavailable,
// nothing of them is written, and the store keeps serving once PostgreSQL answers again.

const it = suite('postgres: failures');

async function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

it('a transaction killed while it waits for the head lock is refused with store_unavailable; appends decided on it are refused too; the store keeps serving', async () => {
  const schema = randomSchema();
  const role = `failing ${schema}`;
  const store = new PostgresEventStore({ url: PG_URL, schema, role, logger: testLogger(), poolSize: 4 });
  await store.open();
  const locker = new pg.Client({ connectionString: PG_URL });
  await locker.connect();
  try {
    await store.append('teams/f', [message()]);
    await locker.query('BEGIN');
    await locker.query(`SELECT pos FROM "${schema}".head FOR UPDATE`);

    const first = settled(store.append('teams/f', [message('killed 1')], { expectedVersion: 1 }));
    const second = settled(store.append('teams/f', [message('killed 2')]));
    const waiting = async () =>
      (await sql(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [`bmo (${role})`])).length === 1;
    await until(waiting, 'the append transaction to wait for the head lock', 10_000);
    // Queued behind the transaction in flight: one decided on its events, one on another stream.
    assert.is(store.version('teams/f'), 3);
    const onTop = settled(store.append('teams/f', [message('on top')], { expectedVersion: 3 }));
    const elsewhere = settled(store.append('teams/g', [message('elsewhere')]));

    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [`bmo (${role})`]);
    for (const result of [await first, await second]) {
      assert.not.ok(result.ok, 'an append whose transaction died is not acknowledged');
      const error = (result as { error: unknown }).error;
      assert.instance(error, BmoError);
      assert.is((error as BmoError).code, 'store_unavailable');
      assert.match((error as Error).message, /nothing was written/);
    }
    assert.is(store.version('teams/f'), 1, 'the version goes back to what is committed');

    await locker.query('ROLLBACK');
    const top = await onTop;
    assert.not.ok(top.ok, 'an append decided on the refused events is refused');
    assert.instance((top as { error: unknown }).error, VersionConflictError);
    const other = await elsewhere;
    assert.ok(other.ok, 'an append on another stream goes through');

    const [next] = await store.append('teams/f', [message('after')], { expectedVersion: 1 });
    assert.is(next.seq, 2);
    const bodies = (await collect(store.readStream('teams/f'))).map((e) => (e.envelope.data as { body: string }).body);
    assert.is(bodies.length, 2);
    assert.is(bodies[1], 'after');
    const rows = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events WHERE line LIKE '%killed%' OR line LIKE '%on top%'`);
    assert.is(Number(rows[0].n), 0, 'nothing of the refused appends is in the table');
    assert.is(store.head(), 3);
  } finally {
    await locker.end().catch(() => {});
    await store.close();
    await dropSchema(schema);
  }
});

it('an instance whose connections are all killed (LISTEN included) catches up and delivers every event once', async () => {
  const schema = randomSchema();
  const open = async (role: string) => {
    const store = new PostgresEventStore({ url: PG_URL, schema, role, logger: testLogger(), poolSize: 4, pollIntervalMs: 200 });
    const seen: StoredEvent[] = [];
    store.onCommit((batch) => seen.push(...batch));
    await store.open();
    return { store, seen };
  };
  const a = await open(`writer ${schema}`);
  const b = await open(`victim ${schema}`);
  try {
    const acked: Envelope[] = [];
    for (let i = 0; i < 5; i++) acked.push(...(await a.store.append('teams/k', [message()])));
    await until(() => b.store.head() === 5, 'b to catch up', 10_000);
    const killed = await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1`, [`bmo (victim ${schema})%`]);
    assert.ok(killed.length >= 2, `the pool and the LISTEN connection were killed (${killed.length})`);
    for (let i = 0; i < 10; i++) acked.push(...(await a.store.append('teams/k', [message()])));
    await until(() => b.store.head() === 15, 'b to deliver what a wrote while it was cut off', 10_000);
    assert.equal(
      b.seen.map((e) => e.envelope),
      acked,
      'every event once, in pos order',
    );
    // b writes again once its pool reconnects (the first try may meet a dead connection).
    let written: Envelope[] | undefined;
    for (let attempt = 0; attempt < 5 && !written; attempt++) {
      const result = await settled(b.store.append('teams/k', [message('b is back')], { expectedVersion: 15 }));
      if (result.ok) written = result.value;
      else assert.is((result.error as BmoError).code, 'store_unavailable');
    }
    assert.ok(written, 'b appends again');
    await until(() => a.store.head() === 16, 'a to deliver b’s append', 10_000);
    assert.equal(
      a.seen.map((e) => e.envelope.pos),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    // The LISTEN connection is back: a new event reaches b without waiting for a poll.
    await until(async () => (await sql(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [`bmo (victim ${schema}) listener`])).length === 1, 'b to LISTEN again', 10_000);
  } finally {
    await a.store.close();
    await b.store.close();
    await dropSchema(schema);
  }
});

await runWithPostgres('postgres failures', () => it.run());
