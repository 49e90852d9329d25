import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StreamName } from '../../events/index.js';
import { JsonlEventStore, LOG_FILE, decodeLine } from '../../src/store/index.js';
import { ROOT, testLogger } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { within } from '../helpers/wait.js';
import { collect, readEverything } from './contract.js';

const APPENDER = join(ROOT, 'dist', 'test', 'fixtures', 'appender.js');
const ROUNDS = Number(process.env.BMO_TORTURE_ROUNDS ?? 20);
/** Kills accumulate on one data directory; a fresh one every so often keeps a long torture linear in time. */
const ROUNDS_PER_DIR = 10;

interface Ack {
  stream: string;
  seq: number;
  pos: number;
  id: string;
}

/**
 * Spawns the appender, kills it with SIGKILL `delayMs` after it opened the store (or after the spawn,
 * so that some kills land in its startup and recovery), and returns what it acknowledged.
 */
async function killedAppender(dataDir: string, delayMs: number, from: 'spawn' | 'open'): Promise<{ acks: Ack[]; opened: boolean; stderr: string }> {
  const child = spawn(process.execPath, [APPENDER, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markOpen: () => void = () => {};
  const opened = new Promise<void>((resolve) => (markOpen = resolve));
  child.stdout!.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
    if (stdout.includes('"open":true')) markOpen();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const closed = once(child, 'close');
  if (from === 'open') await within(Promise.race([opened, closed]), 10_000);
  await new Promise((resolve) => setTimeout(resolve, delayMs)); // sleep-check: the kill lands at a random moment of the appends
  const exitedBeforeKill = child.exitCode !== null;
  child.kill('SIGKILL');
  await closed; // also reaps it, so its pid no longer looks alive to the lock
  assert.not.ok(exitedBeforeKill, `the appender stopped by itself (exit ${child.exitCode}): ${stderr}`);
  const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
  const records = complete
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  return { acks: records.filter((r) => r.id !== undefined), opened: records.some((r) => r.open), stderr };
}

function tornFiles(dataDir: string): string[] {
  const teams = join(dataDir, 'teams');
  if (!fs.existsSync(teams)) return [];
  return fs.readdirSync(teams).flatMap((id) => fs.readdirSync(join(teams, id)).filter((f) => f.includes('.torn-')).map((f) => join(teams, id, f)));
}

/** Reads every events.jsonl raw: every line must decode, seq run 1..n and pos rise within the file. */
function checkFilesOnDisk(dataDir: string): Map<string, number> {
  const lengths = new Map<string, number>();
  const teams = join(dataDir, 'teams');
  if (!fs.existsSync(teams)) return lengths;
  for (const id of fs.readdirSync(teams)) {
    const file = join(teams, id, LOG_FILE);
    if (!fs.existsSync(file)) continue;
    const bytes = fs.readFileSync(file);
    if (bytes.length > 0) assert.is(bytes[bytes.length - 1], 0x0a, `${file} ends in a complete line after recovery`);
    let start = 0;
    let seq = 0;
    let lastPos = 0;
    for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
      const decoded = decodeLine(bytes, start, nl);
      assert.ok(decoded.ok, `${file} line ${seq + 1} does not decode: ${decoded.ok ? '' : decoded.reason}`);
      if (!decoded.ok) break;
      assert.is(decoded.envelope.stream, `teams/${id}`, `${file} line ${seq + 1} stream`);
      assert.is(decoded.envelope.seq, ++seq, `${file} seq runs 1..n with no gap`);
      assert.ok(decoded.envelope.pos > lastPos, `${file} pos ${decoded.envelope.pos} not above ${lastPos}`);
      lastPos = decoded.envelope.pos;
      start = nl + 1;
    }
    lengths.set(`teams/${id}`, seq);
  }
  return lengths;
}

test(`acknowledged events survive kill -9 of the writer (${ROUNDS} rounds), and no torn line is ever served`, async () => {
  const acknowledged = new Map<string, Ack>(); // by stream:seq, over every round on the current directory
  const seenTorn = new Set<string>();
  let totalAcks = 0;
  let roundsOpened = 0;
  let parentWarnings = 0;
  let data = tempDir('bmo-crash-');
  const started = Date.now();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1 && (round - 1) % ROUNDS_PER_DIR === 0) {
        data.cleanup();
        data = tempDir('bmo-crash-');
        acknowledged.clear();
      }
      const delay = 50 + Math.floor(Math.random() * 351);
      const { acks, opened } = await killedAppender(data.dir, delay, round % 4 === 0 ? 'spawn' : 'open');
      if (opened) roundsOpened++;
      totalAcks += acks.length;
      for (const ack of acks) {
        const key = `${ack.stream}:${ack.seq}`;
        const earlier = acknowledged.get(key);
        assert.ok(!earlier || earlier.id === ack.id, `round ${round}: ${key} acknowledged twice with different ids (${earlier?.id}, ${ack.id})`);
        acknowledged.set(key, ack);
      }

      const logLines: string[] = [];
      const store = new JsonlEventStore({ dataDir: data.dir, logger: testLogger(logLines) });
      await store.open();
      try {
        parentWarnings += logLines.filter((l) => JSON.parse(l).level === 40).length;
        const lengths = checkFilesOnDisk(data.dir);

        const served = new Map<string, { id: string; pos: number }>();
        for (const [stream, length] of lengths) {
          const events = await collect(store.readStream(stream as StreamName));
          assert.equal(
            events.map((e) => e.envelope.seq),
            Array.from({ length }, (_, i) => i + 1),
            `round ${round}: readStream(${stream}) serves 1..${length}`,
          );
          assert.is(store.version(stream as StreamName), length);
          for (const { envelope } of events) served.set(`${stream}:${envelope.seq}`, { id: envelope.id, pos: envelope.pos });
        }
        for (const [key, ack] of acknowledged) {
          const stored = served.get(key);
          assert.ok(stored, `round ${round}: acknowledged ${key} (pos ${ack.pos}) is missing`);
          assert.is(stored!.id, ack.id, `round ${round}: ${key} holds another event than the acknowledged one`);
          assert.is(stored!.pos, ack.pos, `round ${round}: ${key} moved from pos ${ack.pos}`);
        }

        const all = await readEverything(store, 5000);
        assert.is(all.length, served.size, `round ${round}: readAll serves every stored event and nothing else`);
        for (let i = 1; i < all.length; i++) assert.ok(all[i].envelope.pos > all[i - 1].envelope.pos, `round ${round}: readAll out of pos order`);
        for (const { envelope } of all) assert.is(served.get(`${envelope.stream}:${envelope.seq}`)?.id, envelope.id);
        assert.is(store.head(), all.length ? all[all.length - 1].envelope.pos : 0);
      } finally {
        await store.close();
      }
      for (const file of tornFiles(data.dir)) seenTorn.add(file);
    }
  } finally {
    data.cleanup();
  }
  console.log(
    `  crash: ${ROUNDS} rounds (${roundsOpened} killed after the store opened), ${totalAcks} acknowledged events, ` +
      `${seenTorn.size} torn tails seen (${parentWarnings} cut by the test, the rest by the next appender), ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  assert.ok(roundsOpened > 0, 'no round got as far as appending: the test proved nothing');
  assert.ok(totalAcks > 0, 'nothing was acknowledged: the test proved nothing');
});

test.run();
