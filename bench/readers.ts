/**
 * A one-line durable write's latency while eight clients read 20 MB logs, against the same write
 * with no reader: bounded answers keep a write from queueing behind a reader's body.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DomainEvent } from '../events/index.js';
import type { Bmo } from '../src/app.js';
import { percentile, sortedCopy } from './common.js';

export const READERS = 8;
const LOG_MB = 20;
const WRITES = 400;

/** The readers, in a child process: half walk the log a JSON page at a time by cursor, half read it whole as NDJSON. */
const READER_SCRIPT = `
const [url, token, readers] = process.argv.slice(1);
const headers = { authorization: 'Bearer ' + token };
let reads = 0;
async function pages() {
  for (;;) {
    let cursor = null;
    do {
      const res = await fetch(url + '?limit=1000' + (cursor ? '&cursor=' + cursor : ''), { headers });
      cursor = (await res.json()).next_cursor;
    } while (cursor);
    reads++;
  }
}
async function whole() {
  for (;;) {
    const res = await fetch(url, { headers: { ...headers, accept: 'application/x-ndjson' } });
    for await (const _ of res.body) {}
    reads++;
  }
}
for (let i = 0; i < Number(readers); i++) (i % 2 ? whole : pages)().catch((e) => { console.error(e); process.exit(1); });
setInterval(() => process.stdout.write(reads + '\\n'), 500);
`;

/** Writes a team log of about LOG_MB, straight to the store (not measured). */
async function writeBigLog(bmo: Bmo, teamId: string): Promise<number> {
  const body = 'x'.repeat(1900);
  let bytes = 0;
  for (let n = 0; bytes < LOG_MB * 1024 * 1024; n++) {
    const events = Array.from({ length: 100 }, (_, i) => ({ type: 'message_sent', data: { message_id: `big-${n}-${i}`, from: 'lead', to: '*', body } }) as DomainEvent);
    const stored = await bmo.pipeline.store.append(`teams/${teamId}`, events);
    bytes += stored.length * 2_100;
  }
  return bytes;
}

/** `WRITES` sequential one-line durable writes (a message read) over HTTP; their latencies in µs. */
async function timeWrites(url: string, token: string, teamId: string): Promise<number[]> {
  const samples: number[] = [];
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  for (let i = 0; i < WRITES; i++) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/teams/${teamId}/messages`, { method: 'POST', headers, body: JSON.stringify({ message_id: randomUUID(), from: 'lead', to: '*', body: 'ok' }) });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`write answered ${res.status}`);
    samples.push((performance.now() - started) * 1000);
  }
  return samples;
}

export interface ReadersResult {
  log_mb: number;
  alone_p99_us: number;
  with_readers_p99_us: number;
  alone_p50_us: number;
  with_readers_p50_us: number;
  full_reads: number;
  ratio: number;
}

/** The p99 of a one-line write alone, then while READERS clients read a LOG_MB log over and over. */
export async function writesUnderReaders(bmo: Bmo, token: string, createTeam: (id: string) => Promise<void>): Promise<ReadersResult> {
  await createTeam('bench-big');
  await createTeam('bench-writes');
  const bytes = await writeBigLog(bmo, 'bench-big');
  await timeWrites(bmo.url!, token, 'bench-writes');
  const alone = sortedCopy(await timeWrites(bmo.url!, token, 'bench-writes'));
  let reads = 0;
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', READER_SCRIPT, `${bmo.url}/v1/teams/bench-big/events`, token, String(READERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.on('data', (chunk: Buffer) => (reads = Number(chunk.toString().trim().split('\n').at(-1))));
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const loaded = sortedCopy(await timeWrites(bmo.url!, token, 'bench-writes'));
    const result = {
      log_mb: Math.round(bytes / 1024 / 1024),
      alone_p50_us: percentile(alone, 50),
      alone_p99_us: percentile(alone, 99),
      with_readers_p50_us: percentile(loaded, 50),
      with_readers_p99_us: percentile(loaded, 99),
      full_reads: reads,
      ratio: 0,
    };
    result.ratio = result.with_readers_p99_us / result.alone_p99_us;
    return result;
  } finally {
    child.kill();
  }
}
