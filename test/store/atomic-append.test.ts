import fs from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Envelope } from '../../events/index.js';
import { CorruptLogError } from '../../src/errors.js';
import { JsonlEventStore, LOG_FILE, encodeLine } from '../../src/store/index.js';
import { newScanBuffer, scanLog } from '../../src/store/scan.js';
import { testLogger } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { collect, message, task } from './contract.js';

// The events of one append are all or nothing on recovery: a crash that leaves part of them is a torn tail.

const it = suite('jsonl: one append is all or nothing on recovery');

async function openJsonl(dir: string, lines?: string[]): Promise<JsonlEventStore> {
  const store = new JsonlEventStore({ dataDir: dir, logger: testLogger(lines) });
  await store.open();
  return store;
}

const tornFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.torn-'));

it('a short write at every byte offset of a two-event append recovers to both events or neither, the rest kept beside the log', async () => {
  const { dir, cleanup } = tempDir('bmo-atomic-');
  try {
    const store = await openJsonl(dir);
    await store.append('teams/t', [message('before')]);
    const [first, second] = await store.append('teams/t', [task('t1'), message('after the task')]);
    await store.close();
    assert.equal(first.meta.batch, { first_seq: 2, count: 2 }, 'both carry the batch');
    assert.equal(second.meta.batch, first.meta.batch);
    const logDir = join(dir, 'teams', 't');
    const file = join(logDir, LOG_FILE);
    const whole = fs.readFileSync(file);
    const start = whole.indexOf('\n') + 1;
    const firstLineEnd = whole.indexOf('\n', start) + 1;
    // Every offset through the recovery scan; the whole store (cut, kept, reopened) at the offsets that differ in kind.
    const scratch = newScanBuffer();
    for (let cut = start; cut <= whole.length; cut++) {
      fs.writeFileSync(file, whole.subarray(0, cut));
      const served: number[] = [];
      const scanned = scanLog(file, 'teams/t', scratch, (envelope) => served.push(envelope.seq))!;
      const both = cut === whole.length;
      assert.equal(served, both ? [1, 2, 3] : [1], `cut at byte ${cut - start} of ${whole.length - start}: ${both ? 'both events' : 'neither event'}`);
      assert.is(scanned.goodEnd, both ? whole.length : start, `cut at ${cut}: the good bytes end after ${both ? 'the append' : 'the event before it'}`);
      assert.is(scanned.seq, both ? 3 : 1);
    }
    for (const cut of [start, start + 1, firstLineEnd - 1, firstLineEnd, firstLineEnd + 1, whole.length - 1, whole.length]) {
      fs.writeFileSync(file, whole.subarray(0, cut));
      const reopened = await openJsonl(dir);
      const served = (await collect(reopened.readStream('teams/t'))).map((e) => e.envelope.seq);
      await reopened.close();
      const kept = tornFiles(logDir);
      if (cut === whole.length || cut === start) {
        assert.equal(served, cut === start ? [1] : [1, 2, 3]);
        assert.equal(kept, [], 'nothing torn: nothing to keep');
        continue;
      }
      assert.equal(served, [1], `cut at byte ${cut - start}: neither event is served`);
      assert.is(kept.length, 1, `cut at ${cut}: one torn file`);
      assert.equal(fs.readFileSync(join(logDir, kept[0])), whole.subarray(start, cut), 'the torn bytes are kept exactly');
      assert.equal(fs.readFileSync(file), whole.subarray(0, start), 'the log is cut back to the last whole append');
      fs.rmSync(join(logDir, kept[0]));
    }
  } finally {
    cleanup();
  }
});

it('after the cut, the stream takes the next append at the seq the lost batch had', async () => {
  const { dir, cleanup } = tempDir('bmo-atomic-');
  try {
    const store = await openJsonl(dir);
    await store.append('teams/t', [message('before')]);
    await store.append('teams/t', [task('t1'), task('t2'), task('t3')]);
    await store.close();
    const file = join(dir, 'teams', 't', LOG_FILE);
    const whole = fs.readFileSync(file);
    // Two of three lines whole: what a crash between the writes of one writev can leave.
    let cut = 0;
    for (let i = 0; i < 3; i++) cut = whole.indexOf('\n', cut) + 1;
    fs.writeFileSync(file, whole.subarray(0, cut));
    const lines: string[] = [];
    const reopened = await openJsonl(dir, lines);
    assert.is(reopened.version('teams/t'), 1);
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.torn_bytes !== undefined);
    assert.match(warning.reason, /2 of the 3 events of one append/);
    const [next] = await reopened.append('teams/t', [message('next')]);
    assert.is(next.seq, 2);
    await reopened.close();
  } finally {
    cleanup();
  }
});

/** A line as bmo wrote it before batch markers (or with a marker given here). */
function line(seq: number, pos: number, meta: Envelope['meta'] = {}): Buffer {
  return encodeLine({ pos, stream: 'teams/t', seq, id: `11111111-1111-4111-8111-${String(seq).padStart(12, '0')}`, type: 'message_sent', at: '2026-01-01T00:00:00.000Z', data: { message_id: `m${seq}`, from: 'lead', to: '*', body: 'b' }, meta } as never).line;
}

it('a log written before batch markers loads as it did: every whole line is served', async () => {
  const { dir, cleanup } = tempDir('bmo-atomic-');
  try {
    fs.mkdirSync(join(dir, 'teams', 't'), { recursive: true });
    fs.writeFileSync(join(dir, 'teams', 't', LOG_FILE), Buffer.concat([line(1, 1), line(2, 2), line(3, 3)]));
    const store = await openJsonl(dir);
    assert.is(store.version('teams/t'), 3);
    assert.equal(tornFiles(join(dir, 'teams', 't')), []);
    await store.close();
  } finally {
    cleanup();
  }
});

it('a line of another append inside an unfinished batch is corruption: startup stops naming file and line', async () => {
  const { dir, cleanup } = tempDir('bmo-atomic-');
  try {
    fs.mkdirSync(join(dir, 'teams', 't'), { recursive: true });
    fs.writeFileSync(join(dir, 'teams', 't', LOG_FILE), Buffer.concat([line(1, 1, { batch: { first_seq: 1, count: 2 } }), line(2, 2)]));
    const store = new JsonlEventStore({ dataDir: dir, logger: testLogger() });
    try {
      await store.open();
      assert.unreachable('the store opened');
    } catch (error) {
      assert.instance(error, CorruptLogError);
      assert.match((error as Error).message, /events\.jsonl:2: seq 2 is not of the append that began at seq 1/);
    }
  } finally {
    cleanup();
  }
});

it.run();
