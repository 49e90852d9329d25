import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StreamName } from '../../events/index.js';
import { BmoError, CorruptLogError } from '../../src/errors.js';
import { JsonlEventStore, LOG_FILE, decodeLine, encodeLine } from '../../src/store/index.js';
import { ROOT, testLogger } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { collect, message, storeContract, throwsAtOnce } from './contract.js';

const APPENDER = join(ROOT, 'dist', 'test', 'fixtures', 'appender.js');

storeContract('jsonl', () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  return { create: () => new JsonlEventStore({ dataDir: dir, logger: testLogger() }), remove: cleanup };
});

/** A jsonl store on a temp dir; `lines` keeps every log line it emits. */
async function openJsonl(dir: string, lines?: string[]): Promise<JsonlEventStore> {
  const store = new JsonlEventStore({ dataDir: dir, logger: testLogger(lines) });
  await store.open();
  return store;
}

const warnings = (lines: string[]) => lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
const logFile = (dir: string, stream: string) => join(dir, stream, LOG_FILE);

/** Every file under `dir`, relative, sorted. */
function listTree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

const layout = suite('jsonl: file layout');

layout('each stream is data/<kind>/<id>/events.jsonl with one JSON line per event, its crc the CRC-32 of the bytes before ,"crc"', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  const store = await openJsonl(dir);
  try {
    const alpha = await store.append('teams/alpha', [message(), message('ünïcødé ✓ "quoted"\nnewline'), message()]);
    await store.append('workstreams/w1', [{ type: 'workstream_created', data: { workstream_id: 'w1', label: 'w' } }]);
    assert.ok(fs.existsSync(logFile(dir, 'workstreams/w1')));
    const bytes = fs.readFileSync(logFile(dir, 'teams/alpha'));
    assert.is(bytes[bytes.length - 1], 0x0a, 'the file ends with a newline');
    const lines = bytes.subarray(0, -1).toString('utf8').split('\n');
    assert.is(lines.length, 3, 'one line per event');
    lines.forEach((text, i) => {
      const line = Buffer.from(text, 'utf8');
      const parsed = JSON.parse(text);
      assert.equal(Object.keys(parsed), ['pos', 'stream', 'seq', 'id', 'type', 'at', 'data', 'meta', 'crc'], 'field order');
      assert.equal(parsed, alpha[i], 'the line is the acknowledged envelope');
      const cut = line.lastIndexOf(',"crc"');
      assert.ok(cut > 0);
      assert.is(parsed.crc, crc32(line.subarray(0, cut)).toString(16).padStart(8, '0'), `line ${i + 1} crc`);
      assert.match(parsed.crc, /^[0-9a-f]{8}$/);
    });
    assert.ok(fs.existsSync(join(dir, 'LOCK')), 'the LOCK file exists while the store is open');
    await store.close();
    assert.not.ok(fs.existsSync(join(dir, 'LOCK')), 'close releases the LOCK');
  } finally {
    await store.close();
    cleanup();
  }
});

layout('a line garbled anywhere fails decodeLine, and the encoder and decoder agree on a good one', () => {
  const { line } = encodeLine({ pos: 1, stream: 'teams/a', seq: 1, id: '00000000-0000-4000-8000-000000000000', type: 'team_removed', at: '2026-01-01T00:00:00.000Z', data: { reason: 'delete' }, meta: {} } as never);
  const body = line.subarray(0, -1);
  assert.ok(decodeLine(body).ok);
  for (let i = 0; i < body.length; i++) {
    const garbled = Buffer.from(body);
    garbled[i] ^= 0x01;
    assert.not.ok(decodeLine(garbled).ok, `a bit flip at byte ${i} went unnoticed`);
  }
});

layout('a line is its JSON with the CRC-32 of the bytes before `,"crc"` as 8 hex digits, also for text beyond ASCII', () => {
  const fields = { pos: 7, stream: 'teams/a', seq: 3, id: '00000000-0000-4000-8000-000000000000', type: 'message_sent', at: '2026-01-01T00:00:00.000Z', data: { message_id: 'm1', from: 'a', to: '*', body: 'héllo ✓ 𝄞 "quoted"' }, meta: {} };
  const { line, crc } = encodeLine(fields as never);
  const head = JSON.stringify(fields).slice(0, -1);
  assert.is(crc, crc32(Buffer.from(head)).toString(16).padStart(8, '0'));
  assert.is(line.toString('utf8'), `${head},"crc":"${crc}"}\n`);
  assert.equal(JSON.parse(line.toString('utf8')).data.body, 'héllo ✓ 𝄞 "quoted"');
});

const torn = suite('jsonl: torn-tail recovery');

/**
 * teams/t holds seq 1..3 (pos 1..3) and teams/u pos 4; `tail(next)` gives the bytes a crash left
 * after them, `next` being the line seq 4 (pos 5) would have been.
 */
const tornShapes: { shape: string; tail: (next: Buffer) => Buffer }[] = [
  { shape: 'an unterminated final line', tail: (next) => next.subarray(0, Math.floor(next.length / 2)) },
  { shape: 'a complete envelope missing only its newline', tail: (next) => next.subarray(0, -1) },
  { shape: 'trailing NUL bytes', tail: () => Buffer.alloc(4096) },
  { shape: 'a line of NUL bytes ending in a newline', tail: (next) => Buffer.concat([Buffer.alloc(next.length - 1), Buffer.from('\n')]) },
  { shape: 'a complete final line with a bad CRC', tail: (next) => Buffer.from(next.toString('utf8').replace('torn body', 'TORN body'), 'utf8') },
  { shape: 'a complete final line with a wrong seq (a gap)', tail: () => nextLine({ seq: 6 }) },
  { shape: 'a complete final line with a repeated seq', tail: () => nextLine({ seq: 3 }) },
  { shape: 'a complete final line that names another stream', tail: () => nextLine({ stream: 'teams/u' }) },
];

function nextLine(overrides: { seq?: number; stream?: string } = {}): Buffer {
  return encodeLine({
    pos: 5,
    stream: overrides.stream ?? 'teams/t',
    seq: overrides.seq ?? 4,
    id: '11111111-1111-4111-8111-111111111111',
    type: 'message_sent',
    at: '2026-01-01T00:00:00.000Z',
    data: { message_id: 'torn', from: 'lead', to: '*', body: 'torn body' },
    meta: {},
  } as never).line;
}

for (const { shape, tail } of tornShapes) {
  torn(`a torn tail (${shape}) is cut off into events.jsonl.torn-<pos> with one warning, and appends continue`, async () => {
    const { dir, cleanup } = tempDir('bmo-store-');
    try {
      const first = await openJsonl(dir);
      const acked = await first.append('teams/t', [message(), message(), message()]);
      await first.append('teams/u', [message()]);
      await first.close();
      const file = logFile(dir, 'teams/t');
      const good = fs.readFileSync(file);
      const tornBytes = tail(nextLine());
      fs.appendFileSync(file, tornBytes);

      const lines: string[] = [];
      const store = await openJsonl(dir, lines);
      try {
        const served = await collect(store.readStream('teams/t'));
        assert.equal(
          served.map((e) => e.envelope.id),
          acked.map((e) => e.id),
          'the good events are served, the torn one is not',
        );
        assert.equal(
          (await store.readAll(0)).events.map((e) => e.envelope.pos),
          [1, 2, 3, 4],
        );
        assert.is(store.head(), 4);
        assert.is(store.version('teams/t'), 3);

        const kept = fs.readdirSync(join(dir, 'teams/t')).filter((f) => f.startsWith(`${LOG_FILE}.torn-`));
        assert.is(kept.length, 1, `one torn file beside the log, found ${kept.join(', ')}`);
        assert.match(kept[0], /^events\.jsonl\.torn-\d+$/);
        assert.equal(fs.readFileSync(join(dir, 'teams/t', kept[0])), tornBytes, 'the torn bytes are kept exactly');
        assert.equal(fs.readFileSync(file), good, 'the log is truncated to its good part');

        const warned = warnings(lines);
        assert.is(warned.length, 1, `exactly one warning, got ${JSON.stringify(warned)}`);
        assert.is(warned[0].file, file, 'the warning names the file');

        const [next] = await store.append('teams/t', [message()]);
        assert.is(next.seq, 4);
        assert.is(next.pos, 5);
      } finally {
        await store.close();
      }

      const again: string[] = [];
      const reopened = await openJsonl(dir, again);
      try {
        assert.equal(warnings(again), [], 'a clean log opens without a warning');
        assert.equal(
          (await collect(reopened.readStream('teams/t'))).map((e) => e.envelope.seq),
          [1, 2, 3, 4],
        );
        for (const line of fs.readFileSync(file).subarray(0, -1).toString('utf8').split('\n')) {
          assert.ok(decodeLine(Buffer.from(line, 'utf8')).ok, 'every line left in the log decodes');
        }
      } finally {
        await reopened.close();
      }
    } finally {
      cleanup();
    }
  });
}

torn('a stream whose only line is torn opens empty and its next append is seq 1', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    fs.mkdirSync(join(dir, 'teams', 't'), { recursive: true });
    fs.writeFileSync(logFile(dir, 'teams/t'), '{"pos":1,"stream":"teams/t","se');
    const lines: string[] = [];
    const store = await openJsonl(dir, lines);
    try {
      assert.equal(await collect(store.readStream('teams/t')), []);
      assert.is(store.head(), 0);
      assert.is(warnings(lines).length, 1);
      const [first] = await store.append('teams/t', [message()]);
      assert.is(first.seq, 1);
      assert.is(first.pos, 1);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
});

torn('a second torn tail after the same pos is kept in a new file, never over the first', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    const first = await openJsonl(dir);
    await first.append('teams/t', [message()]);
    await first.close();
    const file = logFile(dir, 'teams/t');
    fs.appendFileSync(file, 'first torn');
    await (await openJsonl(dir)).close();
    fs.appendFileSync(file, 'second torn');
    await (await openJsonl(dir)).close();
    const kept = fs.readdirSync(join(dir, 'teams/t')).filter((f) => f.includes('.torn-'));
    assert.is(kept.length, 2);
    assert.equal(kept.map((f) => fs.readFileSync(join(dir, 'teams/t', f), 'utf8')).sort(), ['first torn', 'second torn']);
  } finally {
    cleanup();
  }
});

torn('a log larger than one read chunk recovers, reads and cuts its torn tail across chunk boundaries', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    const first = await openJsonl(dir);
    const acked = [];
    // 3 MiB over two interleaved streams, lines of odd sizes so boundaries fall inside lines.
    for (let i = 0; i < 300; i++) acked.push(...(await first.append(i % 3 ? 'teams/big' : 'teams/small', [message('y'.repeat(9000 + ((i * 997) % 7000)))])));
    await first.close();
    const file = logFile(dir, 'teams/big');
    assert.ok(fs.statSync(file).size > 2 * (1 << 20), 'the log spans several read chunks');
    fs.appendFileSync(file, nextLine().subarray(0, 100));

    const lines: string[] = [];
    const store = await openJsonl(dir, lines);
    try {
      assert.is(warnings(lines).length, 1);
      const big = acked.filter((e) => e.stream === 'teams/big');
      assert.equal(
        (await collect(store.readStream('teams/big'))).map((e) => e.envelope),
        big,
      );
      assert.equal(
        (await collect(store.readStream('teams/big', 100))).map((e) => e.envelope.seq),
        big.slice(99).map((e) => e.seq),
      );
      const all = [];
      for (let from = 0; ; ) {
        const { events, next } = await store.readAll(from, { limit: 37 });
        if (events.length === 0) break;
        all.push(...events.map((e) => e.envelope));
        from = next;
      }
      assert.equal(all, acked);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
});

const corrupt = suite('jsonl: corruption');

const middleDamage: { damage: string; apply: (line: string) => string }[] = [
  { damage: 'a bad CRC', apply: (line) => line.replace('middle', 'MIDDLE') },
  { damage: 'NUL bytes', apply: (line) => '\u0000'.repeat(line.length) },
  { damage: 'a wrong seq', apply: (line) => withValidCrc(line.replace('"seq":3', '"seq":9')) },
  { damage: 'half a line', apply: (line) => line.slice(0, 40) },
];

function withValidCrc(line: string): string {
  const body = Buffer.from(line.slice(0, line.lastIndexOf(',"crc"')), 'utf8');
  return `${body.toString('utf8')},"crc":"${crc32(body).toString(16).padStart(8, '0')}"}`;
}

for (const { damage, apply } of middleDamage) {
  corrupt(`a middle line with ${damage} followed by good lines stops open with a CorruptLogError naming file and line, and changes nothing`, async () => {
    const { dir, cleanup } = tempDir('bmo-store-');
    try {
      const first = await openJsonl(dir);
      await first.append('teams/t', [message('one'), message('two'), message('middle'), message('four'), message('five')]);
      await first.close();
      const file = logFile(dir, 'teams/t');
      const original = fs.readFileSync(file);
      const lines = original.toString('utf8').split('\n');
      lines[2] = apply(lines[2]);
      const damaged = Buffer.from(lines.join('\n'), 'utf8');
      fs.writeFileSync(file, damaged);

      const logLines: string[] = [];
      const store = new JsonlEventStore({ dataDir: dir, logger: testLogger(logLines) });
      let refused: unknown;
      try {
        await store.open();
        await store.close();
      } catch (error) {
        refused = error;
      }
      assert.instance(refused, CorruptLogError, 'open must refuse a log with a bad line in the middle');
      const error = refused as CorruptLogError;
      assert.is(error.file, file);
      assert.is(error.line, 3);
      assert.ok(error.message.includes(`${file}:3`), `the message names file and line: ${error.message}`);
      assert.equal(fs.readFileSync(file), damaged, 'the log is left exactly as it was');
      assert.equal(fs.readdirSync(join(dir, 'teams/t')), [LOG_FILE], 'nothing is cut off into a torn file');
      assert.not.ok(fs.existsSync(join(dir, 'LOCK')), 'a failed open releases the lock');

      fs.writeFileSync(file, original);
      const repaired = await openJsonl(dir);
      assert.is(repaired.version('teams/t'), 5, 'once repaired by hand the log opens');
      await repaired.close();
    } finally {
      cleanup();
    }
  });
}

corrupt('a pos held by two files stops open with a CorruptLogError', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    const first = await openJsonl(dir);
    await first.append('teams/a', [message()]);
    await first.close();
    const copy = fs.readFileSync(logFile(dir, 'teams/a'), 'utf8');
    fs.mkdirSync(join(dir, 'teams', 'b'));
    fs.writeFileSync(logFile(dir, 'teams/b'), withValidCrc(copy.trim().replace('"stream":"teams/a"', '"stream":"teams/b"')) + '\n');
    let refused: unknown;
    try {
      await (await openJsonl(dir)).close();
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, CorruptLogError);
    assert.match((refused as Error).message, /pos 1 is also in/);
  } finally {
    cleanup();
  }
});

const lock = suite('jsonl: single-writer lock');

lock('a second store in another process is refused with the pid that holds the lock, and a killed holder is taken over', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  const child = spawn(process.execPath, [APPENDER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        if (out.includes('"open":true')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`appender exited with ${code} before opening`)));
    });
    const second = new JsonlEventStore({ dataDir: dir, logger: testLogger() });
    let refused: unknown;
    try {
      await second.open();
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, BmoError);
    assert.is((refused as BmoError).code, 'store_locked');
    assert.match((refused as Error).message, new RegExp(`pid ${child.pid}\\b`));
    assert.match((refused as Error).message, /crash-test appender/, 'the message names the holder role');

    child.kill('SIGKILL');
    await once(child, 'close');
    assert.ok(fs.existsSync(join(dir, 'LOCK')), 'a kill -9 leaves the LOCK behind');
    const taker = await openJsonl(dir);
    const owner = JSON.parse(fs.readFileSync(join(dir, 'LOCK'), 'utf8'));
    assert.is(owner.pid, process.pid, 'the stale lock now names this process');
    await taker.close();
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
    cleanup();
  }
});

lock('a second store in the same process on the same directory is refused, and the first keeps its lock', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  const first = await openJsonl(dir);
  try {
    const second = new JsonlEventStore({ dataDir: join(dir, '.', ''), logger: testLogger() });
    let refused: unknown;
    try {
      await second.open();
      await second.close();
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, BmoError, 'two writers on one directory must not both open');
    assert.is((refused as BmoError).code, 'store_locked');
    assert.match((refused as Error).message, new RegExp(`pid ${process.pid}\\b`));
    assert.ok(fs.existsSync(join(dir, 'LOCK')), 'the refused store does not remove the holder lock');
    const [event] = await first.append('teams/a', [message()]);
    assert.is(event.seq, 1);
    await first.close();
    const after = await openJsonl(dir);
    assert.is(after.version('teams/a'), 1, 'once the first closes, the directory opens again');
    await after.close();
  } finally {
    await first.close();
    cleanup();
  }
});

lock('a stale LOCK from a pid that is not running, or a half-written one, is taken over', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'close');
    const stale = [
      JSON.stringify({ pid: gone.pid, host: hostname(), started_at: '2026-01-01T00:00:00.000Z', role: 'bmo' }) + '\n',
      JSON.stringify({ pid: process.pid, host: hostname(), started_at: '2026-01-01T00:00:00.000Z', role: 'bmo' }) + '\n',
      '{"pid":12',
      '',
    ];
    for (const content of stale) {
      fs.writeFileSync(join(dir, 'LOCK'), content);
      const store = await openJsonl(dir);
      assert.is(JSON.parse(fs.readFileSync(join(dir, 'LOCK'), 'utf8')).pid, process.pid, `took over ${JSON.stringify(content)}`);
      await store.close();
      assert.not.ok(fs.existsSync(join(dir, 'LOCK')));
    }
  } finally {
    cleanup();
  }
});

/** State letter and start tick of a process, read as the lock reads them (Linux `/proc`). */
function procStat(pid: number): { state: string; startTicks: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], startTicks: Number(fields[19]) };
}

async function refusal(dir: string): Promise<unknown> {
  try {
    await (await openJsonl(dir)).close();
  } catch (error) {
    return error;
  }
  return undefined;
}

lock('a holder killed and not yet reaped (a zombie) no longer holds the LOCK', async () => {
  if (!fs.existsSync('/proc/self/stat')) {
    console.log('  (zombie LOCK test not run: this system has no /proc, where the lock tells a zombie apart)');
    return;
  }
  const { dir, cleanup } = tempDir('bmo-store-');
  // The shell starts a short child, then becomes `sleep`, which never waits for it: the child stays a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30']);
  try {
    const [chunk] = (await once(parent.stdout!, 'data')) as [Buffer];
    const pid = Number(chunk.toString().trim());
    for (let i = 0; i < 200 && procStat(pid).state !== 'Z'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.is(procStat(pid).state, 'Z', 'the child is a zombie: kill(pid, 0) still succeeds for it');
    fs.writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid, host: hostname(), started_at: new Date().toISOString(), role: 'bmo serve' }) + '\n');
    assert.is(await refusal(dir), undefined, 'the store opened');
    assert.not.ok(fs.existsSync(join(dir, 'LOCK')), 'and released the lock it took over');
  } finally {
    parent.kill('SIGKILL');
    await once(parent, 'close');
    cleanup();
  }
});

lock('a LOCK whose pid now names a later process is taken over; the process that wrote it is still refused', async () => {
  if (!fs.existsSync('/proc/self/stat')) {
    console.log('  (reused-pid LOCK test not run: this system has no /proc, where the lock reads when a process started)');
    return;
  }
  const { dir, cleanup } = tempDir('bmo-store-');
  const live = spawn('sleep', ['30']);
  try {
    await once(live, 'spawn');
    const { startTicks } = procStat(live.pid!);
    const owner = { pid: live.pid, host: hostname(), started_at: new Date().toISOString(), role: 'bmo serve' };
    for (const [content, held] of [
      [{ ...owner, start_ticks: startTicks }, true],
      [owner, true], // a LOCK written before start ticks were recorded: kill(pid, 0) decides
      [{ ...owner, start_ticks: startTicks - 1 }, false],
    ] as const) {
      fs.writeFileSync(join(dir, 'LOCK'), JSON.stringify(content) + '\n');
      const refused = await refusal(dir);
      if (held) {
        assert.instance(refused, BmoError, `refused: ${JSON.stringify(content)}`);
        assert.match((refused as Error).message, new RegExp(`pid ${live.pid}\\b`));
      } else {
        assert.is(refused, undefined, `taken over: ${JSON.stringify(content)}`);
      }
    }
    const store = await openJsonl(dir);
    assert.is(JSON.parse(fs.readFileSync(join(dir, 'LOCK'), 'utf8')).start_ticks, procStat(process.pid).startTicks, 'a LOCK records its writer\'s start');
    await store.close();
  } finally {
    live.kill('SIGKILL');
    await once(live, 'close');
    cleanup();
  }
});

lock('a LOCK held on another host is refused and names that host', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    fs.writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 1, host: 'elsewhere.example', started_at: '2026-01-01T00:00:00.000Z', role: 'bmo' }) + '\n');
    let refused: unknown;
    try {
      await (await openJsonl(dir)).close();
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, BmoError);
    assert.match((refused as Error).message, /elsewhere\.example/);
    assert.ok(fs.existsSync(join(dir, 'LOCK')), 'the other host keeps its lock');
  } finally {
    cleanup();
  }
});

const ids = suite('jsonl: entity ids');

ids('ids that are not ^[a-z0-9][a-z0-9-]{0,63}$ are refused by append and create nothing on disk', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  const store = await openJsonl(dir);
  try {
    const before = listTree(dir);
    const bad = ['../x', '../../etc', 'a/b', 'x'.repeat(500), 'a'.repeat(65), 'Upper', 'UPPER', '-lead', '', '.', '..', 'a b', 'a\u0000b', 'a.b', 'ünï'];
    for (const id of bad) {
      const error = throwsAtOnce(() => store.append(`teams/${id}` as StreamName, [message()]));
      assert.instance(error, BmoError, JSON.stringify(id));
      assert.is((error as BmoError).code, 'invalid_id', JSON.stringify(id));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(listTree(dir), before, 'nothing was created');
    assert.not.ok(fs.existsSync(join(dir, '..', 'x')), 'nothing escaped the data directory');
    assert.is(store.head(), 0);
  } finally {
    await store.close();
    cleanup();
  }
});

ids('a directory under data/teams whose name is not an id is ignored on open with a warning', async () => {
  const { dir, cleanup } = tempDir('bmo-store-');
  try {
    fs.mkdirSync(join(dir, 'teams', 'Not_An_Id'), { recursive: true });
    fs.writeFileSync(join(dir, 'teams', 'Not_An_Id', LOG_FILE), 'whatever\n');
    const lines: string[] = [];
    const store = await openJsonl(dir, lines);
    try {
      assert.is(store.head(), 0);
      assert.is(warnings(lines).length, 1);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
});

layout.run();
torn.run();
corrupt.run();
lock.run();
ids.run();
