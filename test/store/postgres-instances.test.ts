import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Envelope, StreamName } from '../../events/index.js';
import { IdempotencyKeyTakenError, VersionConflictError } from '../../src/errors.js';
import type { StoredEvent } from '../../src/store/index.js';
import { PostgresEventStore, type PostgresStoreOptions } from '../../src/store/postgres.js';
import { testLogger } from '../helpers/bmo.js';
import { PG_URL, dropSchema, randomSchema, runWithPostgres, sql } from '../fixtures/pg-schema.js';
import { collect, message, readEverything } from './contract.js';
import { until } from '../helpers/wait.js';

// Several bmo instances on one schema: every instance delivers every committed event, its own and
// the others', exactly once and in pos order; conflicts between instances write nothing.

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface Instance {
  store: PostgresEventStore;
  /** Every batch its onCommit listeners were given, flattened. */
  seen: StoredEvent[];
}

/** Two (or more) stores on one fresh schema, each recording what its listeners see. */
async function instances(count: number, options: Partial<PostgresStoreOptions> = {}) {
  const schema = randomSchema();
  const opened: Instance[] = [];
  const open = async (extra: Partial<PostgresStoreOptions> = {}) => {
    const store = new PostgresEventStore({ url: PG_URL, schema, logger: testLogger(), poolSize: 4, ...options, ...extra });
    const seen: StoredEvent[] = [];
    store.onCommit((batch) => seen.push(...batch));
    await store.open();
    const instance = { store, seen };
    opened.push(instance);
    return instance;
  };
  const all: Instance[] = [];
  for (let i = 0; i < count; i++) all.push(await open());
  return {
    schema,
    all,
    open,
    async cleanup() {
      for (const { store } of opened) await store.close();
      await dropSchema(schema);
    },
  };
}

/** An append's outcome, whether it was refused at once or once it reached the database. */
async function outcome(run: () => Promise<Envelope[]>): Promise<{ ok: true; envelopes: Envelope[] } | { ok: false; error: unknown }> {
  try {
    return { ok: true, envelopes: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

function assertDeliveredInOrder(seen: StoredEvent[], total: number, who: string): void {
  assert.equal(
    seen.map((e) => e.envelope.pos),
    range(1, total),
    `${who}: every pos 1..${total} exactly once, in order`,
  );
}

const it = suite('postgres: several instances on one schema');

it('concurrent appends from two instances: both deliver the same full sequence, in pos order, with no gap and no duplicate', async () => {
  const { all, cleanup } = await instances(2);
  const [a, b] = all;
  try {
    const appends: Promise<Envelope[]>[] = [];
    for (let i = 0; i < 150; i++) {
      // Own streams on each side, and one shared stream both append to with any version.
      appends.push(a.store.append(`teams/a${i % 5}`, [message(`a ${i}`)]));
      appends.push(b.store.append(`teams/b${i % 5}`, [message(`b ${i}`), message(`b ${i} again`)]));
      if (i % 3 === 0) appends.push(a.store.append('teams/shared', [message(`shared from a ${i}`)]));
      if (i % 3 === 1) appends.push(b.store.append('teams/shared', [message(`shared from b ${i}`)]));
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const acked = (await Promise.all(appends)).flat();
    const total = acked.length;
    assert.is(total, 150 + 300 + 50 + 50);
    assert.equal(
      acked.map((e) => e.pos).sort((x, y) => x - y),
      range(1, total),
      'every pos handed out once',
    );
    await until(() => a.store.head() === total && b.store.head() === total, 'both instances to deliver everything', 10_000);

    assertDeliveredInOrder(a.seen, total, 'instance a');
    assertDeliveredInOrder(b.seen, total, 'instance b');
    assert.equal(
      a.seen.map((e) => e.line.toString('utf8')),
      b.seen.map((e) => e.line.toString('utf8')),
      'both instances delivered the same lines, byte for byte',
    );
    const byPos = new Map(acked.map((e) => [e.pos, e]));
    for (const { envelope } of a.seen) assert.equal(envelope, byPos.get(envelope.pos), `pos ${envelope.pos} is what its append acknowledged`);

    const shared = await collect(b.store.readStream('teams/shared'));
    assert.equal(
      shared.map((e) => e.envelope.seq),
      range(1, 100),
      'the shared stream runs 1..100 with appends from both instances',
    );
    for (const { store } of all) {
      assert.is(store.version('teams/shared'), 100);
      assert.is(store.version('teams/a0'), 30);
      assert.is(store.version('teams/b4'), 60);
      assert.equal(
        (await readEverything(store, 97)).map((e) => e.envelope),
        a.seen.map((e) => e.envelope),
        'readAll serves the delivered sequence',
      );
    }
  } finally {
    await cleanup();
  }
});

it('an instance delivers events written by another before any of its own later appends resolves', async () => {
  const { all, cleanup } = await instances(2);
  const [a, b] = all;
  try {
    const [first] = await a.store.append('teams/x', [message()]);
    // b has not necessarily heard of pos 1 yet; its own append lands after it and resolves only once 1 is delivered.
    const [second] = await b.store.append('teams/y', [message()]);
    assert.is(first.pos, 1);
    assert.is(second.pos, 2);
    assert.equal(
      b.seen.map((e) => e.envelope.pos),
      [1, 2],
      'b delivered a’s event before resolving its own',
    );
    assert.is(b.store.head(), 2);
    assert.is(b.store.version('teams/x'), 1, 'b knows the stream a wrote');
  } finally {
    await cleanup();
  }
});

it('a reader resuming from a middle pos on the other instance gets exactly the rest, from memory and from the table', async () => {
  // A tiny recent ring on the reader makes its readAll go to the table.
  const { all, open, cleanup } = await instances(1);
  const [writer] = all;
  const reader = await open({ recentCapacity: 4 });
  const fresh = await open();
  try {
    const acked: Envelope[] = [];
    for (let i = 0; i < 40; i++) acked.push(...(await writer.store.append(i % 2 ? 'teams/odd' : 'workstreams/w', i % 2 ? [message(), message()] : [{ type: 'marker_added', data: { marker_id: `mk-${i}`, path: `f${i}.ts`, note: `n ${i}` } }])));
    const total = acked.length;
    await until(() => reader.store.head() === total && fresh.store.head() === total, 'the readers to catch up', 10_000);
    for (const { store } of [reader, fresh]) {
      for (const middle of [0, 1, 17, total - 5, total - 1]) {
        const rest: Envelope[] = [];
        for (let from = middle; ; ) {
          const { events, next } = await store.readAll(from, { limit: 7 });
          if (events.length === 0 && next === from) break;
          rest.push(...events.map((e) => e.envelope));
          from = next;
        }
        assert.equal(rest, acked.slice(middle), `resuming after pos ${middle}`);
      }
      const odd = await store.readAll(10, { filter: (stream) => stream === 'teams/odd', limit: 1000 });
      assert.equal(
        odd.events.map((e) => e.envelope),
        acked.filter((e) => e.pos > 10 && e.stream === 'teams/odd'),
      );
      assert.is(odd.next, total);
    }
    assertDeliveredInOrder(reader.seen, total, 'reader');
  } finally {
    await cleanup();
  }
});

it('an expected-version conflict between instances is a VersionConflictError and writes nothing', async () => {
  // b polls rarely: right after a's append resolves, b has not heard of it yet.
  const { all, cleanup } = await instances(2, { pollIntervalMs: 60_000 });
  const [a, b] = all;
  try {
    await a.store.append('teams/race', [message(), message()]);
    await until(() => b.store.version('teams/race') === 2, 'b to see the stream', 10_000);

    // Both expect version 2: exactly one is written.
    const [fromA, fromB] = await Promise.all([outcome(() => a.store.append('teams/race', [message('a wins?')], { expectedVersion: 2 })), outcome(() => b.store.append('teams/race', [message('b wins?')], { expectedVersion: 2 }))]);
    const winners = [fromA, fromB].filter((o) => o.ok);
    const losers = [fromA, fromB].filter((o): o is { ok: false; error: unknown } => !o.ok);
    assert.is(winners.length, 1, 'exactly one of the two appends is written');
    assert.instance(losers[0].error, VersionConflictError);
    assert.is((losers[0].error as VersionConflictError).actual, 3, 'the conflict names the version the database holds');
    const winner = (winners[0] as { envelopes: Envelope[] }).envelopes[0];
    await until(() => a.store.head() === 3 && b.store.head() === 3, 'both to deliver pos 3', 10_000);
    for (const { store } of all) {
      const stored = await collect(store.readStream('teams/race'));
      assert.equal(
        stored.map((e) => e.envelope.seq),
        [1, 2, 3],
      );
      assert.is(stored[2].envelope.id, winner.id, 'only the winner is stored');
      assert.is(store.version('teams/race'), 3, 'the loser reloaded the version');
    }
    const loser = fromA.ok ? b : a;
    const [retried] = await loser.store.append('teams/race', [message('retried')], { expectedVersion: 3 });
    assert.is(retried.seq, 4, 'the loser appends again once it retries with the version it was told');

    // A stale local view: a creates a stream, b (not told yet) expects it not to exist.
    await a.store.append('teams/new', [message()], { expectedVersion: 'no_stream' });
    const stale = await outcome(() => b.store.append('teams/new', [message('stale')], { expectedVersion: 'no_stream' }));
    assert.not.ok(stale.ok, 'b cannot create a stream a created');
    assert.instance((stale as { error: unknown }).error, VersionConflictError);

    // An append queued behind a refused one on the same stream was decided on events that never happened: refused too.
    // That needs b not to have heard of a's write yet when it appends; when it has (its read raced a's commit), try again.
    let chain = '';
    for (let attempt = 0; attempt < 20 && !chain; attempt++) {
      const stream = `teams/chain-${attempt}` as const;
      await a.store.append(stream, [message()]);
      await until(() => b.store.version(stream) === 1, `b to see ${stream}`, 10_000);
      await a.store.append(stream, [message('a moves it to 2')], { expectedVersion: 1 });
      let first: Promise<Envelope[]>;
      try {
        first = b.store.append(stream, [message('b on 1')], { expectedVersion: 1 });
      } catch (error) {
        assert.instance(error, VersionConflictError);
        continue; // b knew already: its view was not stale
      }
      const behind = outcome(() => b.store.append(stream, [message('b on top of its own')], { expectedVersion: 2 }));
      const [firstOutcome, behindOutcome] = await Promise.all([outcome(() => first), behind]);
      assert.not.ok(firstOutcome.ok);
      assert.instance((firstOutcome as { error: unknown }).error, VersionConflictError);
      assert.not.ok(behindOutcome.ok, 'the append behind the refused one is refused, though the version it names now exists');
      assert.instance((behindOutcome as { error: unknown }).error, VersionConflictError);
      chain = stream;
    }
    assert.ok(chain, 'b appended on a stale view at least once in 20 tries');

    const rows = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${a.store.schema}".events WHERE line LIKE '%"body":"b %' OR line LIKE '%stale%'`);
    assert.is(Number(rows[0].n), (fromB.ok ? 1 : 0), 'no refused append left a row');
    await until(() => b.store.head() === a.store.head(), 'b to catch up', 10_000);
    assert.is(b.store.version(chain as StreamName), 2);
    const [ok] = await b.store.append(chain as StreamName, [message('b again')], { expectedVersion: 2 });
    assert.is(ok.seq, 3);
  } finally {
    await cleanup();
  }
});

it('a key another instance claimed, unknown here, is refused with IdempotencyKeyTakenError; the rest of the batch is written', async () => {
  // b polls rarely: it places its appends on what it knows, which a's write made stale.
  const { all, cleanup } = await instances(2, { pollIntervalMs: 60_000 });
  const [a, b] = all;
  try {
    await b.store.append('teams/k2', [message('b first')]);
    await a.store.append('teams/k1', [message('a claims')], { claimKey: 'key-1', meta: { idempotency_key: 'key-1', request_hash: 'h' } });
    const [claimed, other] = await Promise.all([
      outcome(() => b.store.append('teams/k1', [message('b claims too')], { claimKey: 'key-1', meta: { idempotency_key: 'key-1', request_hash: 'h' } })),
      outcome(() => b.store.append('teams/k2', [message('b elsewhere')], { expectedVersion: 1 })),
    ]);
    assert.not.ok(claimed.ok, 'the second claim of a key is refused');
    assert.instance((claimed as { error: unknown }).error, IdempotencyKeyTakenError);
    assert.ok(other.ok, 'the other append of the batch is written');
    assert.is((other as { envelopes: Envelope[] }).envelopes[0].pos, 3, 'placed after what a wrote');
    const rows = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${a.store.schema}".events WHERE line LIKE '%b claims too%'`);
    assert.is(Number(rows[0].n), 0, 'nothing of the refused claim is in the table');
    const keys = await sql<{ stream: string }>(`SELECT stream FROM "${a.store.schema}".keys WHERE key = 'key-1'`);
    assert.equal(keys.map((k) => k.stream), ['teams/k1']);
  } finally {
    await cleanup();
  }
});

it('an instance opened later replays everything the others wrote, then follows them live', async () => {
  const { all, cleanup } = await instances(2);
  const [a, b] = all;
  try {
    await Promise.all([a.store.append('teams/one', [message(), message()]), b.store.append('teams/two', [message()])]);
    await until(() => a.store.head() === 3, 'a to catch up', 10_000);
    const replayed: Envelope[] = [];
    const late = new PostgresEventStore({ url: PG_URL, schema: a.store.schema, logger: testLogger(), poolSize: 2 });
    const lateSeen: StoredEvent[] = [];
    late.onCommit((batch) => lateSeen.push(...batch));
    await late.open({ onEvent: (envelope) => replayed.push(envelope) });
    try {
      assert.equal(
        replayed.map((e) => e.pos),
        [1, 2, 3],
      );
      assert.is(late.head(), 3);
      assert.is(late.version('teams/one'), 2);
      await b.store.append('teams/one', [message()], { expectedVersion: 2 });
      await until(() => late.head() === 4, 'the late instance to deliver pos 4', 10_000);
      assert.equal(
        lateSeen.map((e) => e.envelope.pos),
        [4],
        'live events only, once',
      );
      assert.equal(
        replayed.map((e) => e.id),
        a.seen.slice(0, 3).map((e) => e.envelope.id),
      );
    } finally {
      await late.close();
    }
  } finally {
    await cleanup();
  }
});

it('the table holds one row per event with the stored line byte for byte', async () => {
  const { all, cleanup, schema } = await instances(1);
  const [a] = all;
  try {
    const acked = await a.store.append('teams/bytes', [message('ünïcødé ✓ "quoted"\nnewline'), message('tab\t, emoji 🦀 and \u2028 separators')]);
    const rows = await sql<{ pos: string; stream: string; seq: string; id: string; type: string; line: string }>(`SELECT pos, stream, seq, id::text AS id, type, line FROM "${schema}".events ORDER BY pos`);
    assert.equal(
      rows.map((r) => [Number(r.pos), r.stream, Number(r.seq), r.id, r.type]),
      acked.map((e) => [e.pos, e.stream, e.seq, e.id, e.type]),
    );
    assert.equal(
      rows.map((r) => Buffer.from(r.line, 'utf8')),
      a.seen.map((e) => e.line),
      'the row holds the line the listeners got',
    );
    for (const row of rows) assert.equal(JSON.parse(row.line), acked[Number(row.pos) - 1]);
    const [head] = await sql<{ pos: string }>(`SELECT pos FROM "${schema}".head`);
    assert.is(Number(head.pos), 2);
  } finally {
    await cleanup();
  }
});

it('an unreachable server is a clear store_unavailable error at open, naming host and database without the password', async () => {
  const store = new PostgresEventStore({ url: 'postgres://someone:secret-pw@127.0.0.1:1/nowhere', schema: randomSchema(), logger: testLogger() });
  let refused: unknown;
  try {
    await store.open();
  } catch (error) {
    refused = error;
  }
  assert.ok(refused, 'open must fail');
  assert.is((refused as { code?: string }).code, 'store_unavailable');
  assert.match((refused as Error).message, /127\.0\.0\.1:1\/nowhere/);
  assert.not.match((refused as Error).message, /secret-pw/);
  await store.close();
});

await runWithPostgres('postgres instances', () => it.run());
