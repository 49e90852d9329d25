/**
 * Replay, run in its own process so that its RSS is the replay's alone:
 *   `replay.js pipeline <dataDir>`: `new Pipeline({store}).start()` (open + fold every event);
 *   `replay.js snapshot-write <dataDir>`: the same, then a snapshot written to `<dataDir>/snapshots` (and the longest the event loop was held meanwhile);
 *   `replay.js snapshot <dataDir>`: a start from that snapshot (open + the tail, none here);
 *   `replay.js raw <file>`: the ceiling, fs.createReadStream + split on '\n' + JSON.parse.
 * Reports `{type:'result', events, bytes, ms, rssMb, rssAfterGcMb, heapUsedMb}`.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { join } from 'node:path';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { FileSnapshots } from '../src/pipeline/snapshots.js';
import { JsonlEventStore } from '../src/store/index.js';
import { report } from './common.js';

const MB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { rssMb: number; heapUsedMb: number } {
  const m = process.memoryUsage();
  return { rssMb: m.rss / MB, heapUsedMb: m.heapUsed / MB };
}

async function rawParse(file: string): Promise<{ events: number; bytes: number; check: number }> {
  let events = 0;
  let bytes = 0;
  let check = 0;
  let carry: Buffer | undefined;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const envelope = JSON.parse(buf.toString('utf8', start, nl)) as { pos: number };
      check += envelope.pos & 1;
      events++;
      start = nl + 1;
    }
    carry = start < buf.length ? buf.subarray(start) : undefined;
  }
  return { events, bytes, check };
}

async function main(): Promise<void> {
  const [mode, path] = process.argv.slice(2);
  if (mode === 'raw') {
    const t0 = performance.now();
    const { events, bytes } = await rawParse(path);
    const ms = performance.now() - t0;
    const before = memory();
    gc?.();
    report({ type: 'result', events, bytes, ms, rssMb: before.rssMb, heapUsedMb: before.heapUsedMb, rssAfterGcMb: memory().rssMb });
    return;
  }
  const logger = pino({ level: 'silent' });
  const store = new JsonlEventStore({ dataDir: path, logger, role: 'bmo bench replay' });
  // `snapshot-write`: a full replay, then a snapshot of it; `snapshot`: a start from that snapshot.
  const snapshots = mode.startsWith('snapshot') ? { store: new FileSnapshots(join(path, 'snapshots'), 2), everyEvents: 0, everyMs: 0, write: false } : undefined;
  const pipeline = new Pipeline({ store, logger, snapshots });
  const t0 = performance.now();
  await pipeline.start();
  const ms = performance.now() - t0;
  let snapshot: { writeMs: number; bytes: number; longestBlockMs: number } | undefined;
  if (mode === 'snapshot-write') {
    // A probe every millisecond while the snapshot is written: the widest gap between two is the longest the event loop was held.
    let last = performance.now();
    let longest = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const w0 = performance.now();
    last = w0;
    await pipeline.snapshots!.write();
    clearInterval(probe);
    const file = fs.readdirSync(join(path, 'snapshots')).find((n) => n.endsWith('.json'))!;
    snapshot = { writeMs: performance.now() - w0, bytes: fs.statSync(join(path, 'snapshots', file)).size, longestBlockMs: Math.max(longest, performance.now() - last) };
  }
  const before = memory();
  gc?.();
  const after = memory();
  report({
    type: 'result',
    events: pipeline.readModels.pos,
    teams: pipeline.readModels.teams.size,
    ms,
    rssMb: before.rssMb,
    heapUsedMb: before.heapUsedMb,
    rssAfterGcMb: after.rssMb,
    heapUsedAfterGcMb: after.heapUsedMb,
    gcExposed: gc !== undefined,
    snapshot,
  });
  await pipeline.stop();
}

main().catch(
  (error) => {
    report({ type: 'result', error: String(error?.stack ?? error) });
    process.exitCode = 1;
  },
);
