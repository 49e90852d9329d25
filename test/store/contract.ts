import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EnvelopeSchema, streamKind, type DomainEvent, type Envelope, type StreamName } from '../../events/index.js';
import { BmoError, VersionConflictError } from '../../src/errors.js';
import { streamFilter, type EventStore, type OpenOptions, type StoredEvent } from '../../src/store/index.js';

export interface StoreUnderTest {
  /** An opened store on fresh, empty storage. */
  store: EventStore;
  /** Opens a new instance on the same storage; the caller closes the previous one first. */
  reopen: (options?: OpenOptions) => Promise<EventStore>;
  /** Closes every instance still open and removes the storage. */
  cleanup: () => Promise<void>;
}

/** Fresh, empty storage for one test: `create` makes a store on it, not opened yet; `remove` deletes the storage. */
export interface Storage {
  create: () => EventStore;
  remove: () => Promise<void> | void;
}

let messageCounter = 0;

/** A valid team event; `body` tells events apart in assertions. */
export function message(body = `hello ${++messageCounter}`): DomainEvent {
  return { type: 'message_sent', data: { message_id: `m-${++messageCounter}`, from: 'lead', to: '*', body } };
}

export function task(taskId: string): DomainEvent {
  return { type: 'task_created', data: { task_id: taskId, title: `task ${taskId}`, blocked_by: [] } };
}

/** Calls `fn`, which must throw before returning; a returned promise is a failure (and is silenced). */
export function throwsAtOnce(fn: () => unknown): Error {
  let returned: unknown;
  try {
    returned = fn();
  } catch (error) {
    assert.instance(error, Error);
    return error as Error;
  }
  if (returned instanceof Promise) returned.catch(() => {});
  assert.unreachable('expected a synchronous throw, got a returned value (an append must refuse at once)');
  throw new Error('unreachable');
}

export async function collect(iterable: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

/** Every committed event, paged with `limit`, checking that `next` always moves forward. */
export async function readEverything(store: EventStore, limit = 1000, filter?: (stream: string) => boolean): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let from = 0;
  for (let calls = 0; ; calls++) {
    assert.ok(calls < 100_000, 'readAll paging did not terminate');
    const { events, next } = await store.readAll(from, { limit, filter });
    assert.ok(events.length <= limit, `readAll returned ${events.length} events past limit ${limit}`);
    if (events.length === 0 && next === from) break;
    assert.ok(next > from, `readAll next ${next} did not move past ${from}`);
    for (const event of events) assert.ok(event.envelope.pos > from && event.envelope.pos <= next, `pos ${event.envelope.pos} outside (${from}, ${next}]`);
    out.push(...events);
    from = next;
  }
  return out;
}

const positions = (events: { envelope: Envelope }[] | Envelope[]) => events.map((e) => ('envelope' in e ? e.envelope.pos : e.pos));
const seqs = (events: StoredEvent[]) => events.map((e) => e.envelope.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function assertStrictlyIncreasing(values: number[], what: string): void {
  for (let i = 1; i < values.length; i++) assert.ok(values[i] > values[i - 1], `${what} not strictly increasing at ${i}: ${values[i - 1]} then ${values[i]}`);
}

/** What a reader of the store can see: every stream's events and the whole log, compared by bytes. */
async function snapshot(store: EventStore, streams: StreamName[]) {
  const all = await readEverything(store);
  const byStream: Record<string, { seqs: number[]; ids: string[] }> = {};
  for (const stream of streams) {
    const events = await collect(store.readStream(stream));
    byStream[stream] = { seqs: seqs(events), ids: events.map((e) => e.envelope.id) };
  }
  return {
    head: store.head(),
    versions: streams.map((s) => store.version(s)),
    lines: all.map((e) => e.line.toString('utf8')),
    byStream,
  };
}

/**
 * The EventStore port's contract, for any backend: `freshStorage` gives empty storage for each
 * test, on which the contract opens, reopens and finally closes stores.
 */
export function storeContract(name: string, freshStorage: () => Storage | Promise<Storage>): void {
  const it = suite(`${name}: EventStore contract`);

  const makeStore = async (): Promise<StoreUnderTest> => {
    const storage = await freshStorage();
    const opened: EventStore[] = [];
    const reopen = async (options?: OpenOptions) => {
      const store = storage.create();
      await store.open(options);
      opened.push(store);
      return store;
    };
    return {
      store: await reopen(),
      reopen,
      cleanup: async () => {
        for (const store of opened) await store.close();
        await storage.remove();
      },
    };
  };

  /** Runs `body` on a fresh store and always cleans up. */
  const withStore = (body: (under: StoreUnderTest) => Promise<void>) => async () => {
    const under = await makeStore();
    try {
      await body(under);
    } finally {
      await under.cleanup();
    }
  };

  it(
    'append assigns seq 1..n per stream and strictly increasing pos across streams',
    withStore(async ({ store }) => {
      assert.is(store.head(), 0);
      assert.is(store.version('teams/alpha'), 0);
      const a1 = await store.append('teams/alpha', [message(), message()]);
      const b1 = await store.append('teams/beta', [message()]);
      const a2 = await store.append('teams/alpha', [message()]);
      const w1 = await store.append('workstreams/w1', [{ type: 'workstream_created', data: { workstream_id: 'w1', label: 'first' } }]);
      const b2 = await store.append('teams/beta', [message(), message(), message()]);

      assert.equal(a1.map((e) => e.seq), [1, 2]);
      assert.equal(a2.map((e) => e.seq), [3]);
      assert.equal(b1.map((e) => e.seq), [1]);
      assert.equal(b2.map((e) => e.seq), [2, 3, 4]);
      assert.equal(w1.map((e) => e.seq), [1]);
      const all = [...a1, ...b1, ...a2, ...w1, ...b2];
      assert.equal(positions(all), range(1, 8), 'pos runs 1..8 in append order across streams');
      assert.is(store.head(), 8);
      assert.is(store.version('teams/alpha'), 3);
      assert.is(store.version('teams/beta'), 4);
      assert.is(store.version('workstreams/w1'), 1);
      assert.is(store.version('teams/never-written'), 0);
      for (const envelope of all) assert.ok(EnvelopeSchema.safeParse(envelope).success, `envelope ${envelope.pos} is not a valid envelope`);
      assert.is(new Set(all.map((e) => e.id)).size, all.length, 'event ids are unique');
      assert.equal(a1.map((e) => e.stream), ['teams/alpha', 'teams/alpha']);
    }),
  );

  it(
    'the envelope carries the type, data, time and meta the append was given',
    withStore(async ({ store }) => {
      const at = new Date('2026-02-03T04:05:06.789Z');
      const event = message('with meta');
      const [envelope] = await store.append('teams/alpha', [event], { at, meta: { invocation_id: 'inv-1', actor: 'tester' } });
      assert.is(envelope.type, 'message_sent');
      assert.equal(envelope.data, event.data);
      assert.is(envelope.at, at.toISOString());
      assert.equal(envelope.meta, { invocation_id: 'inv-1', actor: 'tester' });
      const [stored] = await collect(store.readStream('teams/alpha'));
      assert.equal(stored.envelope, envelope, 'the stored envelope is the acknowledged one');
    }),
  );

  it(
    'append resolves only after its events are committed and onCommit listeners saw them in pos order',
    withStore(async ({ store }) => {
      const batches: number[][] = [];
      const seen = new Set<number>();
      store.onCommit((batch) => {
        batches.push(positions(batch));
        for (const event of batch) seen.add(event.envelope.pos);
      });
      const appends: Promise<void>[] = [];
      for (let i = 0; i < 30; i++) {
        const headBefore = store.head();
        const promise = store.append(i % 2 ? 'teams/odd' : 'teams/even', [message(), message()]);
        assert.is(store.head(), headBefore, 'head does not move before the commit');
        appends.push(
          promise.then(async (envelopes) => {
            for (const envelope of envelopes) {
              assert.ok(seen.has(envelope.pos), `append resolved before a listener saw pos ${envelope.pos}`);
              assert.ok(store.head() >= envelope.pos, `append resolved with pos ${envelope.pos} above head ${store.head()}`);
            }
            const stream = await collect(store.readStream(envelopes[0].stream as StreamName, envelopes[0].seq));
            assert.equal(
              stream.slice(0, envelopes.length).map((e) => e.envelope.id),
              envelopes.map((e) => e.id),
              'a resolved append is readable',
            );
          }),
        );
      }
      await Promise.all(appends);
      assertStrictlyIncreasing(batches.flat(), 'pos over every onCommit batch');
      assert.equal(batches.flat(), range(1, 60), 'listeners saw every event exactly once');
    }),
  );

  it(
    'an onCommit listener stops receiving batches once unsubscribed, and a throwing listener does not fail the append',
    withStore(async ({ store }) => {
      let calls = 0;
      const stop = store.onCommit(() => calls++);
      store.onCommit(() => {
        throw new Error('listener bug');
      });
      await store.append('teams/alpha', [message()]);
      assert.is(calls, 1);
      stop();
      const [envelope] = await store.append('teams/alpha', [message()]);
      assert.is(calls, 1, 'an unsubscribed listener is not called');
      assert.is(envelope.seq, 2);
    }),
  );

  it(
    'readStream serves a stream from a given seq, and nothing for a stream never written or past its end',
    withStore(async ({ store }) => {
      await store.append('teams/alpha', [message(), message(), message()]);
      await store.append('teams/other', [message()]);
      await store.append('teams/alpha', [message(), message()]);
      const whole = await collect(store.readStream('teams/alpha'));
      assert.equal(seqs(whole), [1, 2, 3, 4, 5]);
      assert.equal(seqs(await collect(store.readStream('teams/alpha', 3))), [3, 4, 5]);
      assert.equal(seqs(await collect(store.readStream('teams/alpha', 5))), [5]);
      assert.equal(seqs(await collect(store.readStream('teams/alpha', 6))), []);
      assert.equal(seqs(await collect(store.readStream('teams/nobody'))), []);
      for (const { envelope, line } of whole) {
        assert.is(envelope.stream, 'teams/alpha');
        assert.is(line[line.length - 1], 0x0a, 'a stored line ends with a newline');
        assert.equal(JSON.parse(line.toString('utf8')), envelope, 'the line is the envelope');
      }
    }),
  );

  it(
    'readLines serves the stored lines from any seq of a long log, at most limit, the bytes readStream serves; readStream from the middle seeks to the same place',
    withStore(async ({ store }) => {
      // Lines of uneven length over some hundred KB: a seek bisects the file over several probes.
      for (let i = 0; i < 30; i++) await store.append('teams/alpha', Array.from({ length: 10 }, (_, j) => message('x'.repeat(100 + ((i * 10 + j) * 137) % 1500))));
      await store.append('teams/other', [message()]);
      const whole = await collect(store.readStream('teams/alpha'));
      assert.equal(seqs(whole), range(1, 300));
      const lines = async (from?: number, limit?: number) => {
        const chunks: Buffer[] = [];
        for await (const chunk of store.readLines('teams/alpha', from, limit)) {
          assert.is(chunk[chunk.length - 1], 0x0a, 'a chunk holds whole lines');
          chunks.push(chunk);
        }
        return Buffer.concat(chunks).toString('utf8');
      };
      const stored = (from: number, to: number) => Buffer.concat(whole.slice(from - 1, to).map((e) => e.line)).toString('utf8');
      assert.is(await lines(), stored(1, 300));
      for (const from of [1, 2, 77, 150, 233, 299, 300]) {
        for (const limit of [1, 7, 1000]) assert.is(await lines(from, limit), stored(from, Math.min(300, from + limit - 1)), `readLines from ${from}, limit ${limit}`);
        assert.equal(seqs(await collect(store.readStream('teams/alpha', from))), range(from, 300), `readStream from ${from}`);
      }
      assert.is(await lines(301), '');
      assert.is(await lines(0, 2), stored(1, 2), 'a seq below 1 reads from the start');
      const nobody: Buffer[] = [];
      for await (const chunk of store.readLines('teams/nobody')) nobody.push(chunk);
      assert.is(nobody.length, 0);
    }),
  );

  it(
    'readAll serves events after a pos that pass the filter, in pos order, with next where to resume',
    withStore(async ({ store }) => {
      await store.append('teams/alpha', [message(), message()]); // 1, 2
      await store.append('workstreams/w1', [{ type: 'workstream_created', data: { workstream_id: 'w1', label: 'w' } }]); // 3
      await store.append('teams/beta', [message()]); // 4
      await store.append('teams/alpha', [message()]); // 5
      await store.append('sessions/s1', [{ type: 'session_started', data: sessionData('s1') }]); // 6

      const everything = await store.readAll(0);
      assert.equal(positions(everything.events), [1, 2, 3, 4, 5, 6]);
      assert.is(everything.next, 6);

      const alpha = await store.readAll(0, { filter: streamFilter('teams/alpha') });
      assert.equal(positions(alpha.events), [1, 2, 5]);
      assert.is(alpha.next, 6, 'next covers the events the filter skipped');

      const teams = await store.readAll(2, { filter: streamFilter('teams/*') });
      assert.equal(positions(teams.events), [4, 5]);

      const two = await store.readAll(0, { filter: streamFilter('workstreams/*,sessions/s1') });
      assert.equal(positions(two.events), [3, 6]);

      const caughtUp = await store.readAll(6);
      assert.equal(caughtUp.events, []);
      assert.is(caughtUp.next, 6);

      const limited = await store.readAll(1, { limit: 2 });
      assert.equal(positions(limited.events), [2, 3]);
      assert.is(limited.next, 3, 'with a limit, next is the last pos returned');
    }),
  );

  it(
    'paging readAll with a limit until caught up returns exactly the stored sequence, before and after a reopen',
    withStore(async ({ store, reopen }) => {
      const acknowledged: Envelope[] = [];
      const streams: StreamName[] = ['teams/s0', 'teams/s1', 'teams/s2', 'workstreams/w0', 'teams/s3'];
      for (let i = 0; i < 57; i++) {
        const stream = streams[(i * 7) % streams.length];
        const events: DomainEvent[] = streamKind(stream) === 'teams'
          ? Array.from({ length: 1 + (i % 3) }, () => message())
          : [{ type: 'marker_added', data: { marker_id: `mk-${i}`, path: `src/file-${i}.ts`, note: `marker ${i}` } }];
        acknowledged.push(...(await store.append(stream, events)));
      }
      const check = async (s: EventStore, when: string) => {
        for (const limit of [1, 7, 1000]) {
          const paged = await readEverything(s, limit);
          assert.equal(paged.map((e) => e.envelope), acknowledged, `paging by ${limit} ${when}`);
        }
        const s1 = await readEverything(s, 4, streamFilter('teams/s1'));
        assert.equal(
          s1.map((e) => e.envelope),
          acknowledged.filter((e) => e.stream === 'teams/s1'),
          `filtered paging ${when}`,
        );
      };
      await check(store, 'before a reopen');
      await store.close();
      const reopened = await reopen();
      await check(reopened, 'after a reopen');
    }),
  );

  it(
    'an expected version that does not match throws VersionConflictError at once and writes nothing',
    withStore(async ({ store, reopen }) => {
      await store.append('teams/alpha', [message(), message()]);
      const before = await snapshot(store, ['teams/alpha']);
      for (const expectedVersion of [0, 1, 3, 17]) {
        const error = throwsAtOnce(() => store.append('teams/alpha', [message()], { expectedVersion }));
        assert.instance(error, VersionConflictError);
        assert.is((error as VersionConflictError).actual, 2);
        assert.is((error as VersionConflictError).expected, expectedVersion);
        assert.is((error as BmoError).status, 409);
      }
      await settle();
      assert.equal(await snapshot(store, ['teams/alpha']), before, 'nothing was written');
      const [next] = await store.append('teams/alpha', [message()], { expectedVersion: 2 });
      assert.is(next.seq, 3, 'the matching version is accepted');
      await store.close();
      const reopened = await reopen();
      assert.equal(seqs(await collect(reopened.readStream('teams/alpha'))), [1, 2, 3], 'the refused appends are not in the log after a reopen');
    }),
  );

  it(
    "'no_stream' is accepted only for a stream never written",
    withStore(async ({ store }) => {
      const [first] = await store.append('teams/fresh', [message()], { expectedVersion: 'no_stream' });
      assert.is(first.seq, 1);
      const error = throwsAtOnce(() => store.append('teams/fresh', [message()], { expectedVersion: 'no_stream' }));
      assert.instance(error, VersionConflictError);
      await settle();
      assert.is(store.version('teams/fresh'), 1);
      assert.equal(seqs(await collect(store.readStream('teams/fresh'))), [1]);
      const [zero] = await store.append('teams/other', [message()], { expectedVersion: 0 });
      assert.is(zero.seq, 1, 'expected version 0 means a new stream too');
    }),
  );

  it(
    "'stream_exists' is refused for a stream never written and accepted once it has events",
    withStore(async ({ store }) => {
      const error = throwsAtOnce(() => store.append('teams/later', [message()], { expectedVersion: 'stream_exists' }));
      assert.instance(error, VersionConflictError);
      await settle();
      assert.is(store.version('teams/later'), 0);
      assert.is(store.head(), 0);
      assert.equal((await store.readAll(0)).events, [], 'nothing was written');
      await store.append('teams/later', [message()]);
      const [second] = await store.append('teams/later', [message()], { expectedVersion: 'stream_exists' });
      assert.is(second.seq, 2);
    }),
  );

  it(
    'of concurrent appends expecting the same version exactly one is written',
    withStore(async ({ store }) => {
      await store.append('teams/race', [message()]);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, () => {
          try {
            return store.append('teams/race', [message()], { expectedVersion: 1 });
          } catch (error) {
            return Promise.reject(error);
          }
        }),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.is(won.length, 1, 'one append wins');
      for (const o of lost) assert.instance(o.reason, VersionConflictError);
      assert.equal(seqs(await collect(store.readStream('teams/race'))), [1, 2]);
      assert.is(store.head(), 2);
    }),
  );

  const invalid: { what: string; stream: StreamName; events: unknown[]; names: RegExp }[] = [
    { what: 'data that breaks its schema', stream: 'teams/alpha', events: [{ type: 'message_sent', data: { message_id: 'm', from: 'lead', to: 'Not An Id', body: 'x' } }], names: /to/ },
    { what: 'an empty required text', stream: 'teams/alpha', events: [{ type: 'message_sent', data: { message_id: 'm', from: 'lead', to: '*', body: '   ' } }], names: /body/ },
    { what: 'a missing field', stream: 'teams/alpha', events: [{ type: 'task_created', data: { task_id: 't1' } }], names: /title/ },
    { what: 'an unknown field', stream: 'teams/alpha', events: [{ type: 'team_removed', data: { reason: 'delete', extra: 1 } }], names: /extra/ },
    { what: 'an unknown event type', stream: 'teams/alpha', events: [{ type: 'team_exploded', data: {} }], names: /team_exploded/ },
    { what: 'a workstream event on a teams/ stream', stream: 'teams/alpha', events: [{ type: 'workstream_created', data: { workstream_id: 'w1', label: 'w' } }], names: /workstream_created/ },
    { what: 'a team event on a system/ stream', stream: 'system/store', events: [{ type: 'team_removed', data: { reason: 'delete' } }], names: /team_removed/ },
    { what: 'a valid event followed by an invalid one', stream: 'teams/alpha', events: [message(), { type: 'message_sent', data: { message_id: 'm', from: 'lead', to: '*' } }], names: /events\[1\]/ },
  ];
  for (const { what, stream, events, names } of invalid) {
    it(
      `an append with ${what} throws at once, names the problem and writes nothing`,
      withStore(async ({ store, reopen }) => {
        await store.append('teams/alpha', [message()]);
        const before = await snapshot(store, ['teams/alpha', stream]);
        const error = throwsAtOnce(() => store.append(stream, events as DomainEvent[]));
        assert.instance(error, BmoError);
        assert.is((error as BmoError).status, 400, error.message);
        assert.match(error.message, names);
        await settle();
        assert.equal(await snapshot(store, ['teams/alpha', stream]), before);
        await store.close();
        const reopened = await reopen();
        assert.equal(await snapshot(reopened, ['teams/alpha', stream]), before, 'nothing shows up after a reopen either');
      }),
    );
  }

  it(
    'a stream name that is not kind/entity-id is refused at once',
    withStore(async ({ store }) => {
      for (const stream of ['teams/../x', 'teams/a/b', 'teams/UPPER', `teams/${'a'.repeat(65)}`, 'teams/', 'nothing', 'secrets/x', 'teams/-x']) {
        const error = throwsAtOnce(() => store.append(stream as StreamName, [message()]));
        assert.instance(error, BmoError, stream);
        assert.is((error as BmoError).status, 400, stream);
      }
      await settle();
      assert.is(store.head(), 0);
      const [ok] = await store.append(`teams/${'a'.repeat(64)}`, [message()]);
      assert.is(ok.seq, 1, 'a 64-character id is a valid id');
    }),
  );

  it(
    '200 concurrent appends to 10 streams all resolve, with no gap in any stream',
    withStore(async ({ store }) => {
      const streams = Array.from({ length: 10 }, (_, i) => `teams/c${i}` as StreamName);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(streams[i % 10], [message(`concurrent ${i}`)])));
      const envelopes = results.flat();
      assert.is(envelopes.length, 200);
      assert.equal(
        [...positions(envelopes)].sort((a, b) => a - b),
        range(1, 200),
        'every pos 1..200 handed out once',
      );
      assert.is(store.head(), 200);
      for (const stream of streams) {
        const stored = await collect(store.readStream(stream));
        assert.equal(seqs(stored), range(1, 20), `${stream} runs 1..20`);
        assertStrictlyIncreasing(positions(stored), `pos within ${stream}`);
        assert.is(store.version(stream), 20);
        const acked = envelopes.filter((e) => e.stream === stream).sort((a, b) => a.seq - b.seq);
        assert.equal(stored.map((e) => e.envelope), acked, `${stream} holds exactly what was acknowledged`);
      }
      assert.equal(positions(await readEverything(store, 33)), range(1, 200));
    }),
  );

  it(
    'a reopened store serves the same events and head, and appends continue its seq and pos',
    withStore(async ({ store, reopen }) => {
      const streams: StreamName[] = ['teams/alpha', 'teams/beta', 'workstreams/w1'];
      await store.append('teams/alpha', [message(), message()]);
      await store.append('workstreams/w1', [{ type: 'workstream_created', data: { workstream_id: 'w1', label: 'w' } }]);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(i % 2 ? 'teams/alpha' : 'teams/beta', [message()])));
      const before = await snapshot(store, streams);
      assert.is(before.head, 23);
      await store.close();

      const replayed: Envelope[] = [];
      const reopened = await reopen({ onEvent: (envelope) => replayed.push(envelope) });
      assert.equal(await snapshot(reopened, streams), before, 'same events, bytes, versions and head');
      assert.is(replayed.length, 23, 'open replays every stored event once');
      for (const stream of streams) {
        assert.equal(
          replayed.filter((e) => e.stream === stream).map((e) => e.seq),
          before.byStream[stream].seqs,
          `${stream} replayed in seq order`,
        );
      }

      const [alpha] = await reopened.append('teams/alpha', [message()]);
      assert.is(alpha.seq, 13);
      assert.is(alpha.pos, 24);
      const [gamma] = await reopened.append('teams/gamma', [message()]);
      assert.is(gamma.seq, 1);
      assert.is(gamma.pos, 25);
      assert.is(reopened.head(), 25);
      assert.equal(positions(await readEverything(reopened, 5)), range(1, 25));
    }),
  );

  it(
    'close lets appends in flight finish, and they survive a reopen',
    withStore(async ({ store, reopen }) => {
      const inFlight = Array.from({ length: 10 }, (_, i) => store.append('teams/alpha', [message(`flight ${i}`)]));
      await store.close();
      const acked = (await Promise.all(inFlight)).flat();
      assert.is(acked.length, 10);
      const reopened = await reopen();
      const stored = await collect(reopened.readStream('teams/alpha'));
      assert.equal(
        stored.map((e) => e.envelope.id),
        acked.map((e) => e.id),
      );
    }),
  );

  it(
    'an append after close is refused',
    withStore(async ({ store }) => {
      await store.close();
      let refused = false;
      try {
        await store.append('teams/alpha', [message()]);
      } catch (error) {
        refused = true;
        assert.instance(error, BmoError);
      }
      assert.ok(refused, 'an append after close must not be accepted');
    }),
  );

  it(
    'an append of no events writes nothing and resolves with none',
    withStore(async ({ store }) => {
      assert.equal(await store.append('teams/alpha', []), []);
      assert.is(store.head(), 0);
      assert.is(store.version('teams/alpha'), 0);
      assert.equal((await store.readAll(0)).events, []);
    }),
  );

  it.run();
}

function sessionData(id: string) {
  return { session_id: id, agent: 'tester', lease_ms: 60_000 };
}

/** Lets any write a refused append might have queued reach the backend before looking. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}
