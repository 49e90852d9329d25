import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, runBmoCli, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// `bmo export` writes the store as NDJSON; `bmo import` appends it to an empty store. The round
// trip keeps every line byte for byte: stream, seq, pos, id, time, data, meta and CRC.

/** A store with teams, tasks, messages, a removed team, a workstream and a credential, written through HTTP; answers the credential's token. */
async function fill(bmo: Bmo): Promise<string> {
  const must = async (status: number, method: string, url: string, body?: unknown) => {
    const res = await call(bmo, method, url, body);
    assert.is(res.status, status, `${method} ${url}: ${res.body}`);
  };
  await must(201, 'POST', '/v1/teams', { id: 'docs', name: 'Docs', goal: 'ship the book', lead: { member_id: 'ann', name: 'Ann' } });
  await must(201, 'POST', '/v1/teams/docs/members', { member_id: 'bob', name: 'Bob' });
  await must(201, 'POST', '/v1/teams/docs/tasks', { task_id: 'outline', title: 'Outline' });
  await must(201, 'POST', '/v1/teams/docs/messages', { from: 'ann', to: 'bob', body: 'outline first' });
  await must(201, 'POST', '/v1/teams', { id: 'gone', name: 'Gone', lead: { member_id: 'cy', name: 'Cy' } });
  await must(200, 'DELETE', '/v1/teams/gone');
  await must(201, 'POST', '/v1/workstreams', { id: 'book', label: 'docs/book-visual-coverage' });
  const issued = await call(bmo, 'POST', '/v1/credentials', { name: 'bob', role: 'agent', member_id: 'bob', teams: ['docs'] });
  assert.is(issued.status, 201, issued.body);
  return issued.json.token;
}

const storeLines = (dir: string, ...path: string[]) => readFileSync(join(dir, ...path, 'events.jsonl'), 'utf8');

test('export then import into a new data directory gives the same lines, byte for byte, and the same answers', async () => {
  const source = tempDir('bmo-export-');
  const target = tempDir('bmo-import-');
  try {
    const bmo = await startTestBmo(source.dir);
    const token = await fill(bmo);
    const teamsBefore = (await call(bmo, 'GET', '/v1/teams')).json;
    const docsBefore = (await call(bmo, 'GET', '/v1/teams/docs')).json;
    await bmo.close();

    const file = join(source.dir, 'all.ndjson');
    const exported = await runBmoCli(['export', '--out', file, '--json'], source.dir, { BMO_DATA_DIR: join(source.dir) });
    assert.is(exported.code, 0, exported.stderr);
    assert.is(JSON.parse(exported.stdout).events, 10);
    assert.is(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 10);

    const imported = await runBmoCli(['import', file, '--json'], target.dir, { BMO_DATA_DIR: target.dir });
    assert.is(imported.code, 0, imported.stderr);
    assert.equal(JSON.parse(imported.stdout), { events: 10, streams: 4, renumbered: 0, into: target.dir });
    for (const path of [['teams', 'docs'], ['teams', 'gone'], ['workstreams', 'book'], ['system', 'credentials']]) {
      assert.is(storeLines(target.dir, ...path), storeLines(source.dir, ...path), `${path.join('/')} is the same, byte for byte`);
    }

    const copy = await startTestBmo(target.dir);
    try {
      assert.equal((await call(copy, 'GET', '/v1/teams')).json, teamsBefore);
      assert.equal((await call(copy, 'GET', '/v1/teams/docs')).json, docsBefore);
      // The credential came along: its token works on the copy, in its scope only.
      assert.is((await call(copy, 'GET', '/v1/teams/docs', undefined, { authorization: `Bearer ${token}` })).status, 200);
      assert.is((await call(copy, 'POST', '/v1/teams/docs/messages', { from: 'ann', to: 'bob', body: 'forged' }, { authorization: `Bearer ${token}` })).status, 403);
    } finally {
      await copy.close();
    }

    const again = await runBmoCli(['import', file], target.dir, { BMO_DATA_DIR: target.dir });
    assert.is(again.code, 4, 'a store that holds events is refused');
    assert.match(again.stderr, /already holds 10 events; import only into an empty one/);
  } finally {
    source.cleanup();
    target.cleanup();
  }
});

test('import reads stdin; a bad line anywhere writes nothing and names the line', async () => {
  const source = tempDir('bmo-export-');
  const target = tempDir('bmo-import-');
  try {
    const bmo = await startTestBmo(source.dir);
    await fill(bmo);
    await bmo.close();
    const exported = await runBmoCli(['export'], source.dir, { BMO_DATA_DIR: source.dir });
    assert.is(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /exported 10 events/);
    const lines = exported.stdout.split('\n').filter(Boolean);

    const shapes: [string, string[], RegExp][] = [
      ['a flipped byte', lines.map((l, i) => (i === 5 ? l.replace('"Gone"', '"Gono"') : l)), /line 6: crc mismatch/],
      ['a line missing', lines.filter((_, i) => i !== 2), /line 3 \(teams\/docs seq 4\): expected seq 3 of teams\/docs/],
      ['not an export', [...lines.slice(0, 4), '{"hello":"world"}'], /line 5: .*not a line of `bmo export`/],
    ];
    for (const [what, shape, message] of shapes) {
      const refused = await runBmoCli(['import'], target.dir, { BMO_DATA_DIR: target.dir }, `${shape.join('\n')}\n`);
      assert.is(refused.code, 2, `${what}: ${refused.stderr}`);
      assert.match(refused.stderr, message, what);
    }
    const copy = await startTestBmo(target.dir);
    try {
      assert.is(copy.pipeline.store.head(), 0, 'nothing was written by the refused imports');
    } finally {
      await copy.close();
    }

    const piped = await runBmoCli(['import'], target.dir, { BMO_DATA_DIR: target.dir }, exported.stdout);
    assert.is(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /imported 10 events in 4 streams/);
  } finally {
    source.cleanup();
    target.cleanup();
  }
});

test('export --out onto a file that is there already is refused before the store is read, and the file is left as it was', async () => {
  const { dir, cleanup } = tempDir('bmo-transfer-');
  try {
    const file = join(dir, 'taken.ndjson');
    writeFileSync(file, 'keep me\n');
    const refused = await runBmoCli(['export', '--out', file], dir, { BMO_DATA_DIR: join(dir, 'data') });
    assert.is(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--out .*taken\.ndjson is there already; bmo export overwrites nothing/);
    assert.not.match(refused.stderr, /\n\s+at /, 'no stack trace');
    assert.is(readFileSync(file, 'utf8'), 'keep me\n');
    assert.not.ok(existsSync(join(dir, 'data')), 'the store was never opened');
  } finally {
    cleanup();
  }
});

test('export refuses a data directory a server holds, and says which', async () => {
  const { dir, cleanup } = tempDir('bmo-export-');
  try {
    const bmo = await startTestBmo(dir);
    try {
      const refused = await runBmoCli(['export'], dir, { BMO_DATA_DIR: dir, BMO_TOKEN: TOKEN });
      assert.is(refused.code, 69, refused.stderr);
      assert.match(refused.stderr, /bmo serve \(pid \d+/);
    } finally {
      await bmo.close();
    }
  } finally {
    cleanup();
  }
});

test.run();
