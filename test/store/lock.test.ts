import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreLockedError } from '../../src/errors.js';
import { acquireLock, LOCK_FILE, processStat } from '../../src/store/lock.js';
import { tempDir } from '../helpers/tmp.js';

const CONTENDER = new URL('../fixtures/lock-contender.js', import.meta.url).pathname;

// Five concurrent CLI commands with no server once lost a finding: one read another's LOCK in the
// instant between its creation and its owner line, took the empty file for a half-written one left
// by a dead process, and took it over. Both wrote to the log. A LOCK now appears with its line.
test('processes racing for one data directory never hold its LOCK at the same time', async () => {
  const { dir, cleanup } = tempDir('bmo-lock-');
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const contenders = Array.from({ length: 6 }, () => spawn(process.execPath, [CONTENDER, dataDir, '60'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const said = contenders.map((child) => {
      let out = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      return once(child, 'close').then(([code]) => ({ code, out: out.trim() }));
    });
    const results = await Promise.all(said);
    assert.equal(results, contenders.map(() => ({ code: 0, out: 'took 60' })));
  } finally {
    cleanup();
  }
});

// A LOCK left by a kill -9 is taken over. Takers used to check it was still the stale file and then
// remove it: a second taker could remove, in between, the LOCK a third had just made. Now one taker
// at a time removes a stale LOCK (under LOCK.takeover).
test('processes racing to take over the LOCKs of holders killed holding them never hold it at the same time', async () => {
  const { dir, cleanup } = tempDir('bmo-lock-');
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const spawnOne = (args: string[]) => {
      const child = spawn(process.execPath, [CONTENDER, dataDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      return once(child, 'close').then(([code, signal]) => ({ code, signal, out: out.trim() }));
    };
    const racers = Array.from({ length: 6 }, () => spawnOne(['40']));
    const killed = Array.from({ length: 16 }, () => spawnOne(['1', 'die']));
    assert.equal(await Promise.all(racers), racers.map(() => ({ code: 0, signal: null, out: 'took 40' })));
    assert.equal(await Promise.all(killed), killed.map(() => ({ code: null, signal: 'SIGKILL', out: '' })), 'each killed holding the LOCK');
  } finally {
    cleanup();
  }
});

test('a stale LOCK is removed only by the taker holding LOCK.takeover: while a live process holds that, the LOCK stays; then it is taken over', () => {
  const { dir, cleanup } = tempDir('bmo-lock-');
  try {
    const lock = join(dir, LOCK_FILE);
    const dead = { pid: 2 ** 22 + 17, host: hostname(), started_at: '2026-01-01T00:00:00Z', role: 'killed' };
    writeFileSync(lock, JSON.stringify(dead) + '\n');
    // The runner that started this test runs, and holds the takeover.
    const taker = { pid: process.ppid, host: hostname(), started_at: new Date().toISOString(), role: 'another taker', start_ticks: processStat(process.ppid)?.startTicks };
    writeFileSync(`${lock}.takeover`, JSON.stringify(taker) + '\n');
    const stale = statSync(lock).ino;
    assert.throws(() => acquireLock(dir, 'test'), (error: Error) => error instanceof StoreLockedError && /keeps taking the lock; .*LOCK\.takeover is held by another taker/.test(error.message));
    assert.is(statSync(lock).ino, stale, 'the stale LOCK is left to the taker that holds the takeover');
    // That taker died: its takeover file is stale too, and the LOCK is taken over.
    writeFileSync(`${lock}.takeover`, JSON.stringify({ ...taker, pid: dead.pid, start_ticks: undefined }) + '\n');
    const release = acquireLock(dir, 'test');
    assert.is(JSON.parse(readFileSync(lock, 'utf8')).pid, process.pid);
    assert.not.ok(existsSync(`${lock}.takeover`));
    release();
    // A takeover by another host is not this host's to judge: refused at once, naming the file.
    writeFileSync(lock, JSON.stringify(dead) + '\n');
    writeFileSync(`${lock}.takeover`, JSON.stringify({ ...taker, host: 'elsewhere' }) + '\n');
    assert.throws(() => acquireLock(dir, 'test'), (error: Error) => error instanceof StoreLockedError && error.message.includes(`remove ${lock}.takeover if that host is gone`));
    // A LOCK that names no process ({}, pid 0 or -1) is no holder's: taken over.
    rmSync(`${lock}.takeover`);
    for (const junk of ['{}', JSON.stringify({ ...dead, pid: 0 }), JSON.stringify({ ...dead, pid: -1 })]) {
      writeFileSync(lock, junk + '\n');
      acquireLock(dir, 'test')();
    }
  } finally {
    cleanup();
  }
});

test.run();
