import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LOG_FILE } from '../../src/store/index.js';
import { call, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// A real full disk: a tmpfs of 1 MB (the tests run as root), filled up to its last byte.

/** Fills the disk `dir` is on with one file until a write fails, and answers the file. */
function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (const size of [65536, 4096, 1]) {
      const chunk = Buffer.alloc(size, 'f');
      for (;;) {
        try {
          fs.writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

const tornFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.torn-'));
const TEAM = { name: 'Other', lead: { member_id: 'lead', name: 'Lead' }, goal: 'g'.repeat(2000) };

test('a full disk still starts, read-only: reads served, writes refused saying why, no empty torn file; writes resume after a restart with space', async () => {
  const { dir: mountPoint, cleanup } = tempDir('bmo-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
  } catch (error) {
    cleanup();
    assert.unreachable(`this test mounts a 1 MB tmpfs and must run as root: ${(error as Error).message}`);
  }
  const dataDir = join(mountPoint, 'data');
  const logDir = join(dataDir, 'teams', 'kept');
  try {
    // 1. A team on the small disk, then what a crash mid-write leaves: half a line.
    let bmo = await startTestBmo(dataDir);
    assert.is((await call(bmo, 'POST', '/v1/teams', { id: 'kept', ...TEAM })).status, 201);
    await bmo.close();
    fs.appendFileSync(join(logDir, LOG_FILE), '{"pos":3,"stream":"teams/kept","seq":3,"id":"1111');
    const filler = fillDisk(mountPoint);

    // 2. It starts, serves what is whole, refuses writes with the reason, and leaves no empty torn file.
    bmo = await startTestBmo(dataDir);
    try {
      const team = await call(bmo, 'GET', '/v1/teams/kept');
      assert.is(team.status, 200, team.body);
      assert.is((await call(bmo, 'GET', '/v1/teams/kept/events')).json.events.length, 2, 'the whole lines are served, the torn one is not');
      const refused = await call(bmo, 'POST', '/v1/teams', { id: 'other', ...TEAM });
      assert.is(refused.status, 503, refused.body);
      assert.is(refused.json.error, 'store_read_only');
      assert.match(refused.json.message, /disk is full/);
      assert.match(refused.json.message, /restart bmo/);
      assert.match((await call(bmo, 'GET', '/healthz')).json.read_only, /teams\/kept/);
      assert.equal(tornFiles(logDir), [], 'no quarantine file, empty or not');
    } finally {
      await bmo.close();
    }

    // 3. Space is back: the restart keeps the torn tail beside the log and takes writes.
    fs.rmSync(filler);
    bmo = await startTestBmo(dataDir);
    try {
      const kept = tornFiles(logDir);
      assert.is(kept.length, 1);
      assert.ok(fs.statSync(join(logDir, kept[0])).size > 0, 'the torn bytes are kept');
      const created = await call(bmo, 'POST', '/v1/teams', { id: 'other', ...TEAM });
      assert.is(created.status, 201, created.body);
      assert.is((await call(bmo, 'GET', '/healthz')).json.read_only, undefined);
    } finally {
      await bmo.close();
    }

    // 4. Full again with no torn tail: still read-only, from the free space it finds.
    const again = fillDisk(mountPoint);
    bmo = await startTestBmo(dataDir);
    try {
      const refused = await call(bmo, 'POST', '/v1/teams', { id: 'third', ...TEAM });
      assert.is(refused.status, 503, refused.body);
      assert.match(refused.json.message, /bytes free/);
      assert.is((await call(bmo, 'GET', '/v1/teams/other')).status, 200);
    } finally {
      await bmo.close();
      fs.rmSync(again);
    }
  } finally {
    execFileSync('umount', [mountPoint]);
    cleanup();
  }
});

test.run();
