import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent, StreamName } from '../../events/index.js';
import type { Bmo } from '../../src/app.js';
import { PostgresEventStore } from '../../src/store/postgres.js';
import { TOKEN, call, startTestBmo, testLogger } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { PG_URL, dropSchema, randomSchema, runWithPostgres, sql } from '../fixtures/pg-schema.js';

// Past 32 bits, a read that fails half way, a key sent to two instances at once: on both backends where both have it.

const it = suite('store limits: big from_seq, a read error mid-NDJSON, one key on two instances');

type Backend = 'jsonl' | 'postgres';

/** Starts bmo on a fresh store of `backend` (listening on a port), runs `body`, and removes everything after. */
async function withBackend(backend: Backend, body: (start: () => Promise<Bmo>, where: { dir: string; schema: string }) => Promise<void>): Promise<void> {
  const schema = randomSchema();
  const dirs: ReturnType<typeof tempDir>[] = [];
  const started: Bmo[] = [];
  const first = tempDir('bmo-limits-');
  dirs.push(first);
  const start = async () => {
    const dir = started.length === 0 ? first : tempDir('bmo-limits-');
    if (dir !== first) dirs.push(dir);
    const store = backend === 'postgres' ? { store: { backend: 'postgres', url: PG_URL, schema } } : {};
    const bmo = await startTestBmo(dir.dir, { overrides: store, listen: true });
    started.push(bmo);
    return bmo;
  };
  try {
    await body(start, { dir: first.dir, schema });
  } finally {
    for (const bmo of started) await bmo.close();
    if (backend === 'postgres') await dropSchema(schema);
    for (const dir of dirs) dir.cleanup();
  }
}

/** A GET over a real socket: the lines it got, and whether the response ended as HTTP says (not cut off). */
function getNdjson(bmo: Bmo, path: string): Promise<{ status: number; lines: string[]; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(`${bmo.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/x-ndjson' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      const done = () => resolve({ status: res.statusCode ?? 0, lines: text.split('\n').filter(Boolean), complete: res.complete });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('error', reject);
    req.end();
  });
}

const TEAM = { id: 'wide', name: 'Wide', lead: { member_id: 'lead', name: 'Lead' }, goal: 'reach far' };
const message = (i: number, size = 40): DomainEvent => ({ type: 'message_sent', data: { message_id: `m-${i}`, from: 'lead', to: '*', body: `${i} ${'x'.repeat(size)}` } });

for (const backend of ['jsonl', 'postgres'] as const) {
  it(`${backend}: from_seq at 2^31 and 2^53-1 answers an empty log, as JSON and as NDJSON, and the server stays up`, () =>
    withBackend(backend, async (start) => {
      const bmo = await start();
      assert.is((await call(bmo, 'POST', '/v1/teams', TEAM)).status, 201);
      for (const from of [2 ** 31, 2 ** 53 - 1]) {
        const json = await call(bmo, 'GET', `/v1/teams/wide/events?from_seq=${from}`);
        assert.is(json.status, 200, `from_seq=${from}: ${json.body}`);
        assert.equal(json.json.events, []);
        const nd = await getNdjson(bmo, `/v1/teams/wide/events?from_seq=${from}`);
        assert.is(nd.status, 200);
        assert.ok(nd.complete, `from_seq=${from} as NDJSON ends as HTTP says`);
        assert.equal(nd.lines, []);
      }
      const past = await call(bmo, 'GET', `/v1/teams/wide/events?from_seq=${2 ** 53}`);
      assert.is(past.status, 400, 'past 2^53-1 is refused, not rounded');
      assert.is((await call(bmo, 'GET', '/healthz')).status, 200);
      const all = await getNdjson(bmo, '/v1/teams/wide/events?from_seq=1');
      assert.is(all.lines.length, 2, 'the log is still read from the start');
    }),
  );

  it(`${backend}: a log that fails to read half way cuts that NDJSON response off, and the server goes on serving`, () =>
    withBackend(backend, async (start, where) => {
      const bmo = await start();
      assert.is((await call(bmo, 'POST', '/v1/teams', TEAM)).status, 201);
      const stream: StreamName = 'teams/wide';
      for (let i = 0; i < 6; i++) await bmo.pipeline.store.append(stream, Array.from({ length: 500 }, (_, j) => message(i * 500 + j, 1000)));
      const total = bmo.pipeline.store.version(stream);
      // Garble one event two thirds of the way in, after it was replayed and served once.
      if (backend === 'postgres') {
        await sql(`UPDATE "${where.schema}".events SET line = replace(line, '"from":"lead"', '"from":"LEAD"') WHERE stream = $1 AND seq = $2`, [stream, 2000]);
      } else {
        const file = join(where.dir, 'teams', 'wide', 'events.jsonl');
        const at = readFileSync(file).indexOf('"message_id":"m-2000"');
        const fd = openSync(file, 'r+');
        writeSync(fd, 'M', at + 14);
        closeSync(fd);
      }
      const cut = await getNdjson(bmo, '/v1/teams/wide/events');
      assert.ok(!cut.complete || cut.status >= 500, `the response is cut off or refused (status ${cut.status}, ${cut.lines.length} lines)`);
      assert.ok(cut.lines.length < total, `not every line was served: ${cut.lines.length} of ${total}`);
      assert.is((await call(bmo, 'GET', '/healthz')).status, 200, 'the server is up');
      assert.is((await call(bmo, 'GET', '/v1/teams')).status, 200, 'and serves what does not need the garbled line');
    }),
  );
}

it('postgres: one Idempotency-Key sent to two instances at once, 50 times: one write each, both answers the same', () =>
  withBackend('postgres', async (start) => {
    const a = await start();
    const b = await start();
    assert.is((await call(a, 'POST', '/v1/teams', TEAM)).status, 201);
    for (let tries = 0; (await call(b, 'GET', '/v1/teams/wide')).status !== 200; tries++) {
      assert.ok(tries < 500, 'the second instance sees the team');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (let i = 0; i < 50; i++) {
      const send = (bmo: Bmo) => call(bmo, 'POST', '/v1/teams/wide/messages', { from: 'lead', to: '*', body: `once ${i}` }, { 'idempotency-key': `same-${i}` });
      const [one, two] = await Promise.all([send(a), send(b)]);
      assert.is(one.status, 201, one.body);
      assert.is(two.status, 201, two.body);
      assert.is(one.json.message_id, two.json.message_id, `key ${i}: both instances answer the one write`);
    }
    const log = (await call(a, 'GET', '/v1/teams/wide/events')).json.events as { type: string; meta: { idempotency_key?: string } }[];
    const keyed = log.filter((e) => e.meta.idempotency_key?.startsWith('same-'));
    assert.is(keyed.length, 50, `one write per key (${keyed.length} for 50 keys)`);
  }),
);

it('postgres: a schema from before (seq integer, no keys table) is brought up to date on open, once', async () => {
  const schema = randomSchema();
  const open = async () => {
    const lines: string[] = [];
    const store = new PostgresEventStore({ url: PG_URL, schema, logger: testLogger(lines), poolSize: 2 });
    await store.open();
    return { store, migrated: lines.filter((l) => l.includes('brought up to date')) };
  };
  try {
    const first = await open();
    await first.store.append('teams/old', [message(1)], { meta: { idempotency_key: 'k-old', request_hash: 'h' } });
    await first.store.close();
    await sql(`ALTER TABLE "${schema}".events ALTER COLUMN seq TYPE integer`);
    await sql(`DROP TABLE "${schema}".keys`);
    const second = await open();
    assert.is(second.migrated.length, 1, 'the old schema was migrated');
    const [column] = await sql<{ data_type: string }>(`SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events' AND column_name = 'seq'`, [schema]);
    assert.is(column.data_type, 'bigint');
    assert.equal(await sql(`SELECT key, stream, first_seq::int AS first_seq, last_seq::int AS last_seq FROM "${schema}".keys`), [{ key: 'k-old', stream: 'teams/old', first_seq: 1, last_seq: 1 }], 'the keys table holds the keys of the events');
    assert.is(second.store.version('teams/old'), 1);
    await second.store.close();
    const third = await open();
    assert.is(third.migrated.length, 0, 'nothing to do the second time');
    await third.store.close();
  } finally {
    await dropSchema(schema);
  }
});

await runWithPostgres('store limits', () => it.run());
