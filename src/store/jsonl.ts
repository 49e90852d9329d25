import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { ID_PATTERN, STREAM_KINDS, parseStreamName, type DomainEvent, type Envelope, type StreamKind, type StreamName } from '../../events/index.js';
import { BmoError, CorruptLogError, VersionConflictError } from '../errors.js';
import { checkEvents, noop, versionMatches } from './checks.js';
import { decodeLine, encodeLine, isoOf, lineFault, splitLines } from './line.js';
import { lineChunks } from './log-read.js';
import { claims, sharedCount } from './claims.js';
import { startReplayWorker } from './replay.js';
import type { ReplayChunk } from './replay-worker.js';
import { newScanBuffer, scanLog, type ScannedLog } from './scan.js';
import { acquireLock } from './lock.js';
import { estimateLogs, logSizer } from './log-sizes.js';
import { PosIndex, type PackedPosIndex } from './pos-index.js';
import { CommitListeners } from './listeners.js';
import { RecentEvents } from './recent.js';
import type { AppendOptions, EventStore, OpenOptions, ReplayProgress, StoreCheckpoint, StoreObserver, StoredEvent, StreamFilter } from './types.js';
import { makeDataDir } from './data-dir.js';

const open = promisify(fs.open);
const close = promisify(fs.close);
const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);
const read = promisify(fs.read);

export const LOG_FILE = 'events.jsonl';
const MAX_OPEN_WRITERS = 256;
const READ_BYTES_PER_CALL = 4 << 20;

interface StreamInfo {
  idx: number;
  name: StreamName;
  kind: StreamKind;
  dir: string;
  file: string;
  /** Assigned: includes appends still waiting for their sync. */
  seq: number;
  size: number;
  committedSeq: number;
  committedSize: number;
  /** The pos of the last committed line: where a scan of the rest starts from. */
  lastPos: number;
  /** The file exists and its directory entry is synced. */
  onDisk: boolean;
  /** Where the scan on startup starts: the end of what a snapshot's checkpoint covers. */
  scanFrom?: { offset: number; seq: number; lastPos: number };
  /** The file's size when the checkpoint was checked against it. */
  sizeSeen?: number;
}

/** What a snapshot keeps of the jsonl store: each log's committed length in stream order, and the pos index. */
export interface JsonlCheckpoint extends StoreCheckpoint {
  backend: 'jsonl';
  pos: number;
  /** [stream, seq, size, lastPos], in the store's stream order (the index refers to it). */
  streams: [string, number, number, number][];
  /** Typed arrays when taken, bytes when read back from a snapshot (its binary parts). */
  index: { [K in keyof PackedPosIndex]: ArrayBufferView };
}

/** Tells the observer of one sync and of the appends it acknowledges. */
function observeSync(observer: StoreObserver, batch: PendingAppend[], syncStarted: number): void {
  const now = performance.now();
  let events = 0;
  for (const append of batch) {
    events += append.events.length;
    observer.acknowledged((now - append.madeAt) / 1000);
  }
  observer.synced(events, (now - syncStarted) / 1000);
}

interface PendingAppend {
  stream: StreamInfo;
  /** In file order: each line starts where the one before ends, the first where the stream's committed bytes end. */
  events: StoredEvent[];
  resolve: (envelopes: Envelope[]) => void;
  reject: (error: unknown) => void;
  /** When it was made (performance.now()), for the observer's append-to-ack latency. */
  madeAt: number;
}

/** In a parallel replay, the logs this thread takes at a time from the count it shares with the workers. */
const LOGS_A_CLAIM = 8;
/** In a parallel replay, this thread takes in the workers' chunks after every so many of its own logs. */
const TAKE_IN_EVERY = 64;

export interface JsonlStoreOptions {
  dataDir: string;
  logger: Logger;
  /** Called once when a write or sync fails: the process must stop rather than acknowledge. */
  onFatal?: (error: unknown) => void;
  /** What holds the lock, for the message a second process gets. */
  role?: string;
  recentCapacity?: number;
  observer?: StoreObserver;
}

/**
 * The embedded backend: one `events.jsonl` per entity, appends grouped so that concurrent writers
 * share one fdatasync, and nothing acknowledged or served before it is on disk.
 */
export class JsonlEventStore implements EventStore {
  readonly dataDir: string;
  /** The data directory as `join` writes it (no trailing slash): log paths are built on it. */
  private readonly base: string;
  private readonly logger: Logger;
  private readonly onFatal: (error: unknown) => void;
  private readonly observer: StoreObserver | undefined;
  private readonly role: string;
  private readonly streams: StreamInfo[] = [undefined as unknown as StreamInfo];
  private readonly byName = new Map<string, StreamInfo>();
  private readonly index = new PosIndex();
  private readonly recent: RecentEvents;
  private readonly listeners: CommitListeners;
  private readonly writers = new Map<number, number>();
  /** Appends not written yet, in pos order. */
  private pending: PendingAppend[] = [];
  /** The written batch whose sync is in flight, acknowledged when it completes. */
  private syncing: PendingAppend[] | undefined;
  /** A file is being opened for the pending appends: writes wait for it, so each file stays in order. */
  private opening = false;
  private writeScheduled = false;
  /** Settles once every append made so far is acknowledged or refused: what `close` waits for. */
  private flushing: Promise<void> | undefined;
  private flushed: (() => void) | undefined;
  private assignedPos = 0;
  private committedPos = 0;
  private failure: unknown;
  /** Why the store takes no writes (a full disk at startup), or undefined. */
  private readOnly: string | undefined;
  private releaseLock: (() => void) | undefined;
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: JsonlStoreOptions) {
    this.dataDir = options.dataDir;
    this.base = join(options.dataDir, '_').slice(0, -2);
    this.logger = options.logger;
    this.listeners = new CommitListeners(options.logger);
    this.onFatal = options.onFatal ?? (() => {});
    this.observer = options.observer;
    this.role = options.role ?? 'bmo';
    this.recent = new RecentEvents(options.recentCapacity ?? 4096);
  }

  async open(options: OpenOptions = {}): Promise<void> {
    if (this.state !== 'new') throw new Error('store already opened');
    makeDataDir(this.dataDir);
    this.releaseLock = acquireLock(this.dataDir, this.role);
    // From a snapshot, many logs are sized on a thread booted now, while this thread lists them and reads the snapshot.
    const sizer = options.startFrom && logSizer(this.base, LOG_FILE, estimateLogs(this.base, STREAM_KINDS));
    try {
      const logs = await this.listLogs();
      const sizing = sizer?.start(logs.map(([kind, id]) => `${kind}/${id}`));
      const checkpoint = (await options.startFrom?.()) as JsonlCheckpoint | undefined;
      if (checkpoint) this.takeCheckpoint(checkpoint, sizing!.sizes, options);
      await this.recover(logs, options);
      this.readOnly ??= await lowOnSpace(this.dataDir);
    } catch (error) {
      sizer?.stop();
      this.releaseLock();
      throw error;
    }
    if (this.readOnly) this.logger.warn({ data_dir: this.dataDir, reason: this.readOnly }, 'the store is read-only: reads are served, writes refused until a restart with space');
    this.state = 'open';
  }

  /** Why writes are refused (a full disk found at startup), or undefined when they are taken. */
  readOnlyReason(): string | undefined {
    return this.readOnly;
  }

  /** This process: the only one that writes the data directory while it holds the LOCK. */
  readonly instanceId = randomUUID();

  /** Any other instance is gone: it held the LOCK before this one took it. */
  instanceGone(id: string): Promise<boolean> {
    return Promise.resolve(id !== this.instanceId);
  }

  version(stream: StreamName): number {
    return this.byName.get(stream)?.seq ?? 0;
  }

  /** What a snapshot taken now keeps of the store: call it in the same turn as the read models are taken. */
  checkpoint(): JsonlCheckpoint {
    const streams: JsonlCheckpoint['streams'] = [];
    for (let idx = 1; idx < this.streams.length; idx++) {
      const info = this.streams[idx];
      streams.push([info.name, info.committedSeq, info.committedSize, info.lastPos]);
    }
    return { backend: 'jsonl', pos: this.committedPos, streams, index: this.index.export(this.committedPos) };
  }

  /**
   * A snapshot's checkpoint, unless the logs show it is not theirs: its logs' scans start where it
   * ends. Its streams are placed first, in its order (the index refers to it), while the logs'
   * sizes still come; they stay placed when it is refused, as the logs' own.
   */
  private takeCheckpoint(checkpoint: JsonlCheckpoint, sizes: () => Map<string, number>, options: OpenOptions): void {
    if (checkpoint.backend !== 'jsonl') return options.onCheckpointRefused?.(`it was taken of a ${checkpoint.backend} store`);
    const infos = checkpoint.streams.map(([name]) => this.streamInfo(name as StreamName, parseStreamName(name)!.kind));
    const onDisk = sizes();
    const refused = checkpointRefused(checkpoint, onDisk);
    if (refused) return options.onCheckpointRefused?.(refused);
    checkpoint.streams.forEach(([name, seq, size, lastPos], i) => {
      infos[i].scanFrom = { offset: size, seq, lastPos };
      infos[i].sizeSeen = onDisk.get(name);
    });
    this.index.import(checkpoint.index);
    this.committedPos = checkpoint.pos;
  }

  head(): number {
    return this.committedPos;
  }

  onCommit(listener: (batch: StoredEvent[]) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * Throws at once, with nothing assigned, when the events or the expected version are refused;
   * otherwise seq and pos are taken now and the promise resolves once the lines are synced.
   */
  append(stream: StreamName, events: DomainEvent[], options: AppendOptions = {}): Promise<Envelope[]> {
    if (this.failure) throw new BmoError('store_unavailable', 'the store stopped after a failed write; restart bmo', { cause: this.failure });
    if (this.state !== 'open') throw new BmoError('store_unavailable', 'the store is not open');
    if (this.readOnly) throw new BmoError('store_read_only', `bmo is read-only: ${this.readOnly}; nothing was written. Free space on that disk and restart bmo`);
    // A stream the store already knows has a checked name; only a new one is parsed.
    const known = this.byName.get(stream);
    const kind = known?.kind ?? parseStreamName(stream)?.kind;
    if (!kind) throw new BmoError('invalid_id', `"${stream}" is not a stream name (kind/id)`);
    const checked = checkEvents(kind, events, options.decided);
    const current = known?.seq ?? 0;
    if (!versionMatches(options.expectedVersion ?? 'any', current)) throw new VersionConflictError(stream, options.expectedVersion, current);
    if (checked.length === 0) return Promise.resolve([]);
    const info = known ?? this.streamInfo(stream as StreamName, kind);

    const at = isoOf(options.at ?? new Date());
    // The events of one append are all or nothing on recovery: several carry their batch (scan.ts).
    const meta = checked.length > 1 ? { ...options.meta, batch: { first_seq: info.seq + 1, count: checked.length } } : (options.meta ?? {});
    const pending: PendingAppend = { stream: info, events: [], resolve: noop, reject: noop, madeAt: performance.now() };
    for (let i = 0; i < checked.length; i++) {
      const event = checked[i];
      // Built once in the line's field order; encodeLine reads every field but the crc it computes.
      const envelope = { pos: ++this.assignedPos, stream, seq: ++info.seq, id: options.ids?.[i] ?? randomUUID(), type: event.type, at, data: event.data, meta, crc: '' } as Envelope;
      const { line, crc } = encodeLine(envelope);
      envelope.crc = crc;
      pending.events.push({ envelope, line });
      info.size += line.length;
    }
    return new Promise<Envelope[]>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
      this.pending.push(pending);
      this.scheduleWrite();
    });
  }

  async *readStream(stream: StreamName, fromSeq = 1): AsyncIterable<StoredEvent> {
    let seq = Math.max(1, fromSeq);
    for await (const chunk of this.lineChunks(stream, seq)) {
      const out: StoredEvent[] = [];
      splitLines(chunk, (s, e) => {
        const decoded = decodeLine(chunk, s, e);
        if (!decoded.ok) throw new CorruptLogError(this.byName.get(stream)!.file, 0, `a committed line no longer reads: ${decoded.reason}`);
        if (decoded.envelope.seq !== seq++) throw new CorruptLogError(this.byName.get(stream)!.file, 0, `seq ${decoded.envelope.seq} where ${seq - 1} was due`);
        out.push({ envelope: decoded.envelope, line: chunk.subarray(s, e + 1) });
      });
      yield* out;
    }
  }

  async *readLines(stream: StreamName, fromSeq = 1, limit = Infinity): AsyncIterable<Buffer> {
    for await (const chunk of this.lineChunks(stream, Math.max(1, fromSeq), limit)) {
      splitLines(chunk, (s, e) => {
        const fault = lineFault(chunk, s, e);
        if (fault !== undefined) throw new CorruptLogError(this.byName.get(stream)!.file, 0, `a committed line no longer reads: ${fault}`);
      });
      yield chunk;
    }
  }

  /** A stream's committed lines from `fromSeq` on (log-read.ts), as of now: a later commit is not read. */
  private async *lineChunks(stream: StreamName, fromSeq: number, limit?: number): AsyncGenerator<Buffer> {
    const info = this.byName.get(stream);
    if (!info || info.committedSize === 0 || fromSeq > info.committedSeq) return;
    const fd = await open(info.file, 'r');
    try {
      yield* lineChunks({ fd, file: info.file, size: info.committedSize, lastSeq: info.committedSeq }, fromSeq, limit);
    } finally {
      await close(fd);
    }
  }

  async readAll(fromPos: number, options: { filter?: StreamFilter; limit?: number } = {}): Promise<{ events: StoredEvent[]; next: number }> {
    const limit = options.limit ?? 1000;
    const filter = options.filter ?? (() => true);
    const head = this.committedPos;
    const events: StoredEvent[] = [];
    if (fromPos >= head) return { events, next: fromPos };
    const fromMemory = this.recent.readAfter(fromPos, head, limit, filter);
    if (fromMemory) return fromMemory;
    const wanted: { idx: number; offset: number; length: number }[] = [];
    let bytes = 0;
    let pos = fromPos;
    while (pos < head && wanted.length < limit && bytes < READ_BYTES_PER_CALL) {
      const idx = this.index.streamAt(++pos);
      if (idx === 0 || !filter(this.streams[idx].name)) continue;
      const length = this.index.lengthAt(pos);
      wanted.push({ idx, offset: this.index.offsetAt(pos), length });
      bytes += length;
    }
    return { events: await this.readRefs(wanted), next: pos };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.flushing;
    for (const fd of this.writers.values()) await close(fd).catch(() => {});
    this.writers.clear();
    this.releaseLock?.();
  }

  private streamInfo(name: StreamName, kind: StreamKind): StreamInfo {
    let info = this.byName.get(name);
    if (!info) {
      // Names are checked (a kind, an id of ID_PATTERN): plain joins, 10 000 logs on startup.
      const dir = `${this.base}/${name}`;
      info = { idx: this.streams.length, name, kind, dir, file: `${dir}/${LOG_FILE}`, seq: 0, size: 0, committedSeq: 0, committedSize: 0, lastPos: 0, onDisk: false };
      this.streams.push(info);
      this.byName.set(name, info);
    }
    return info;
  }

  /** The appends of one turn of the event loop are written together, on the next turn. */
  private scheduleWrite(): void {
    this.flushing ??= new Promise((done) => (this.flushed = done));
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.flush();
    });
  }

  /**
   * Group commit: the appends gathered while no sync runs are written in one writev per file and
   * synced together; those gathered while a sync is in flight are written and synced as soon as it
   * completes. The write happens on this thread (the page cache takes the lines in microseconds,
   * where a round trip through the thread pool costs more than the write), the fdatasync on the
   * thread pool. Appends are acknowledged in pos order, each only after a sync that started after
   * its write completed; a write or a sync that fails stops the store and acknowledges nothing more.
   *
   * Measured and left out: writing the next batch while a sync is in flight gains nothing when the
   * write is this quick (the next sync cannot start before the current one completes anyway), and
   * a second sync in flight made smaller batches and more syncs for lower throughput.
   */
  private flush(): void {
    if (this.failure || this.opening || this.syncing) return;
    if (this.pending.length === 0) {
      if (!this.writeScheduled) this.settle();
      return;
    }
    const closed = this.streamsWithoutWriter(this.pending);
    if (closed.length > 0) {
      this.opening = true;
      Promise.all(closed.map((info) => this.openWriter(info))).then(
        () => {
          this.opening = false;
          this.flush();
        },
        (error) => {
          this.opening = false;
          this.fail(error);
        },
      );
      return;
    }
    const batch = this.pending;
    this.pending = [];
    let fds: number[];
    try {
      fds = this.writeBatch(batch);
    } catch (error) {
      this.fail(error, batch);
      return;
    }
    this.syncing = batch;
    const syncStarted = performance.now();
    const synced = fds.length === 1 ? fdatasync(fds[0]) : Promise.all(fds.map((fd) => fdatasync(fd)));
    synced.then(
      () => {
        if (this.failure) return; // refused already
        this.syncing = undefined;
        if (this.observer) observeSync(this.observer, batch, syncStarted);
        this.commit(batch);
        this.flush();
      },
      (error) => this.fail(error),
    );
  }

  /** Writes a batch's lines, one writev per file, and answers the files written. */
  private writeBatch(batch: PendingAppend[]): number[] {
    const byStream = new Map<StreamInfo, Buffer[]>();
    for (const append of batch) {
      let lines = byStream.get(append.stream);
      if (!lines) byStream.set(append.stream, (lines = []));
      for (const event of append.events) lines.push(event.line);
    }
    const fds: number[] = [];
    for (const [info, lines] of byStream) {
      const fd = this.writers.get(info.idx)!;
      this.writers.delete(info.idx); // most recently written last: trimWriters closes from the front
      this.writers.set(info.idx, fd);
      let total = 0;
      for (const line of lines) total += line.length;
      const written = fs.writevSync(fd, lines);
      if (written !== total) throw new Error(`short write to ${info.file}: ${written} of ${total} bytes`);
      fds.push(fd);
    }
    return fds;
  }

  private settle(): void {
    const done = this.flushed;
    this.flushing = undefined;
    this.flushed = undefined;
    done?.();
  }

  private streamsWithoutWriter(appends: PendingAppend[]): StreamInfo[] {
    const out = new Set<StreamInfo>();
    for (const append of appends) if (!this.writers.has(append.stream.idx)) out.add(append.stream);
    return [...out];
  }

  private commit(batch: PendingAppend[]): void {
    const committed: StoredEvent[] = [];
    for (const append of batch) {
      const info = append.stream;
      for (const event of append.events) {
        const { pos, seq } = event.envelope;
        // Batches commit in the order they were written, so this line starts where the committed bytes end.
        this.index.set(pos, info.idx, info.committedSize, event.line.length);
        this.recent.push(event);
        info.committedSeq = seq;
        info.committedSize += event.line.length;
        info.lastPos = pos;
        this.committedPos = pos;
        committed.push(event);
      }
    }
    this.listeners.emit(committed);
    for (const append of batch) append.resolve(append.events.map((e) => e.envelope));
    this.trimWriters();
  }

  /** Every append not yet acknowledged is refused, also those a sync in flight may still cover. */
  private fail(error: unknown, batch: PendingAppend[] = []): void {
    if (this.failure) return;
    this.failure = error;
    const refused = [...(this.syncing ?? []), ...batch, ...this.pending];
    this.syncing = undefined;
    this.pending = [];
    const code = (error as NodeJS.ErrnoException).code;
    const refusal = new BmoError(
      'store_unavailable',
      `a write to the log failed${code ? ` (${code})` : ''} and bmo is stopping: the outcome is unknown, the write may be on disk. Once bmo is back, retry with the same Idempotency-Key: it answers what was written, or writes it now`,
      { cause: error },
    );
    for (const append of refused) append.reject(refusal);
    this.settle();
    this.logger.fatal({ err: error }, 'write or fdatasync failed: stopping rather than retry and acknowledge');
    this.onFatal(error);
  }

  /** Opens (and on first use creates and syncs into its directory) the file a stream appends to. */
  private async openWriter(info: StreamInfo): Promise<number> {
    const cached = this.writers.get(info.idx);
    if (cached !== undefined) return cached;
    if (!info.onDisk) {
      const kindDir = join(this.dataDir, info.kind);
      const firstCreated = await fs.promises.mkdir(info.dir, { recursive: true });
      const fd = await open(info.file, 'a');
      await syncDir(info.dir);
      if (firstCreated !== undefined) await syncDir(kindDir);
      if (firstCreated === kindDir) await syncDir(this.dataDir);
      info.onDisk = true;
      this.writers.set(info.idx, fd);
      return fd;
    }
    const fd = await open(info.file, 'a');
    this.writers.set(info.idx, fd);
    return fd;
  }

  /** Closes the files written longest ago, past the limit (called on a commit, when no line waits for a sync). */
  private trimWriters(): void {
    for (const [idx, fd] of this.writers) {
      if (this.writers.size <= MAX_OPEN_WRITERS) break;
      this.writers.delete(idx);
      fs.close(fd, () => {});
    }
  }

  private async readRefs(refs: { idx: number; offset: number; length: number }[]): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    const fds = new Map<number, number>();
    try {
      for (let i = 0; i < refs.length; ) {
        const { idx, offset } = refs[i];
        let end = offset + refs[i].length;
        let j = i + 1;
        while (j < refs.length && refs[j].idx === idx && refs[j].offset === end) end += refs[j++].length;
        let fd = fds.get(idx);
        if (fd === undefined) fds.set(idx, (fd = await open(this.streams[idx].file, 'r')));
        const buf = Buffer.allocUnsafe(end - offset);
        const { bytesRead } = await read(fd, buf, 0, buf.length, offset);
        if (bytesRead !== buf.length) throw new CorruptLogError(this.streams[idx].file, 0, `committed bytes at offset ${offset} are missing`);
        splitLines(buf, (s, e) => {
          const decoded = decodeLine(buf, s, e);
          if (!decoded.ok) throw new CorruptLogError(this.streams[idx].file, 0, `a committed line at offset ${offset + s} no longer reads: ${decoded.reason}`);
          out.push({ envelope: decoded.envelope, line: buf.subarray(s, e + 1) });
        });
        i = j;
      }
    } finally {
      for (const fd of fds.values()) await close(fd).catch(() => {});
    }
    return out;
  }

  /**
   * Writes a torn tail into its own file. On a full disk no file is left behind and false comes
   * back: the tail stays in the log (never served), and the store goes read-only until a restart.
   */
  private async keepTorn(tornPath: string, tail: Buffer, file: string): Promise<boolean> {
    try {
      const tornFd = await open(tornPath, 'wx');
      try {
        await promisify(fs.write)(tornFd, tail);
        await fsync(tornFd);
      } finally {
        await close(tornFd);
      }
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (!DISK_FULL.has(code)) throw error;
      await fs.promises.rm(tornPath, { force: true });
      this.readOnly = `the torn tail of ${file} (${tail.length} bytes) could not be kept beside it (${code}: the disk is full)`;
      this.logger.warn({ file, torn_bytes: tail.length, code }, 'a torn tail could not be kept: it stays in the log unserved until a restart with space');
      return false;
    }
  }

  /** Scans every listed log (this thread and, for many logs, replay workers), indexes every event and cuts off torn tails. */
  private async recover(logs: [StreamKind, string][], options: OpenOptions): Promise<void> {
    const found = logs.map(([kind, id]) => this.streamInfo(`${kind}/${id}`, kind));
    const progress: ReplayProgress = { events: 0, bytesDone: 0, done: 0, total: found.length, counting: 'logs' };
    // From a checkpoint only the tails are left to read: this thread alone.
    const fromCheckpoint = found.some((info) => info.scanFrom);
    const workers = !fromCheckpoint && options.parallel && found.length >= options.parallel.minStreams ? Math.max(0, Math.min(options.parallel.workers, found.length - 1)) : 0;
    const counted = sharedCount();
    // Every thread takes the next few logs from one count until none are left.
    const next = sharedCount();
    // The workers' chunks, as the event loop hands them over; taken in between this thread's own logs.
    const arrived: ReplayChunk[] = [];
    const logsToShare = workers > 0 ? found.map(({ idx, name, file }) => ({ idx, name, file })) : [];
    const input = { module: options.parallel?.module ?? '', logs: logsToShare, next: next.buffer as SharedArrayBuffer, progress: counted.buffer as SharedArrayBuffer };
    const replays = Array.from({ length: workers }, () => startReplayWorker(input, (chunk) => arrived.push(chunk)));
    const takeIn = () => this.takeIn(arrived, progress, options);
    try {
      await this.scanOwn(claimed(found, next), progress, options, counted, replays.length > 0 ? takeIn : undefined);
      await Promise.all(replays.map((replay) => replay.done));
      await takeIn();
    } finally {
      // Done, or failed here: a worker still running is not wanted any more.
      await Promise.all(replays.map((replay) => replay.stop()));
    }
    options.onProgress?.({ ...progress });
    this.assignedPos = this.committedPos;
  }

  /** Every entity directory under the data directory, as [kind, id]; a directory with a bad id is ignored. */
  private async listLogs(): Promise<[StreamKind, string][]> {
    const found: [StreamKind, string][] = [];
    for (const kind of STREAM_KINDS) {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(join(this.dataDir, kind), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        if (ID_PATTERN.test(entry.name)) found.push([kind, entry.name]);
        else this.logger.warn({ dir: join(this.dataDir, kind, entry.name) }, 'not an entity directory (bad id); ignored');
      }
    }
    return found;
  }

  /** The replay workers' chunks that arrived so far: their events indexed, their logs recovered, their folds merged. */
  private async takeIn(arrived: ReplayChunk[], progress: ReplayProgress, options: OpenOptions): Promise<void> {
    for (let chunk = arrived.shift(); chunk; chunk = arrived.shift()) {
      const { entries } = chunk;
      let lineNo = 0;
      for (let i = 0; i < entries.length; i += 4) {
        lineNo = i > 0 && entries[i - 3] === entries[i + 1] ? lineNo + 1 : 1;
        this.indexEvent(this.streams[entries[i + 1]], entries[i], entries[i + 2], entries[i + 3], lineNo);
      }
      for (const { idx, scanned } of chunk.logs) if (scanned) await this.recovered(this.streams[idx], scanned, progress);
      progress.events += entries.length / 4;
      options.parallel!.merge(chunk.result);
    }
  }

  /** This thread's own logs, scanned one after another; every TAKE_IN_EVERY logs the workers' results are taken in (`takeIn`). */
  private async scanOwn(mine: Iterable<StreamInfo>, progress: ReplayProgress, options: OpenOptions, counted: Int32Array, takeIn: (() => Promise<void>) | undefined): Promise<void> {
    let lastReport = Date.now();
    const onEvent = (envelope: Envelope) => {
      options.onEvent?.(envelope);
      if (++progress.events % 8192 === 0 && options.onProgress && Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        options.onProgress({ ...progress, events: progress.events + Atomics.load(counted, 0) });
      }
    };
    const scratch = newScanBuffer();
    let i = 0;
    for (const info of mine) {
      // A log the checkpoint covers to its end (its size seen when the checkpoint was checked): nothing to read.
      const scanned = info.scanFrom && info.scanFrom.offset === info.sizeSeen ? { size: info.sizeSeen, goodEnd: info.scanFrom.offset, seq: info.scanFrom.seq, lastPos: info.scanFrom.lastPos } : scanLog(
        info.file,
        info.name,
        scratch,
        (envelope, offset, length, lineNo) => {
          this.indexEvent(info, envelope.pos, offset, length, lineNo);
          onEvent(envelope);
        },
        info.scanFrom,
      );
      info.scanFrom = info.sizeSeen = undefined;
      if (scanned) await this.recovered(info, scanned, progress);
      if (takeIn && i++ % TAKE_IN_EVERY === 0) {
        await new Promise(setImmediate); // lets the workers' messages in
        await takeIn();
      }
    }
  }

  /** Records where a good line of `info` lives; a pos already held by another log is corruption. */
  private indexEvent(info: StreamInfo, pos: number, offset: number, length: number, lineNo: number): void {
    const holder = this.index.streamAt(pos);
    if (holder !== 0) throw new CorruptLogError(info.file, lineNo, `pos ${pos} is also in ${this.streams[holder].file}`);
    this.index.set(pos, info.idx, offset, length);
    if (pos > this.committedPos) this.committedPos = pos;
  }

  /** A scanned log's figures into its stream's info; a torn tail is cut off and kept beside it. */
  private async recovered(info: StreamInfo, scanned: ScannedLog, progress: ReplayProgress): Promise<void> {
    info.seq = info.committedSeq = scanned.seq;
    info.size = info.committedSize = scanned.goodEnd;
    info.lastPos = scanned.lastPos;
    info.onDisk = true;
    progress.bytesDone += scanned.size;
    progress.done++;
    if (scanned.goodEnd < scanned.size) await this.quarantineTail(info, scanned.goodEnd, scanned.size, scanned.lastPos, scanned.badLine ?? 'unterminated last line');
  }

  private async quarantineTail(info: StreamInfo, goodEnd: number, size: number, lastPos: number, reason: string): Promise<void> {
    const tail = Buffer.alloc(size - goodEnd);
    const fd = await open(info.file, 'r+');
    try {
      await read(fd, tail, 0, tail.length, goodEnd);
      let tornPath = `${info.file}.torn-${lastPos}`;
      for (let n = 2; fs.existsSync(tornPath); n++) tornPath = `${info.file}.torn-${lastPos}-${n}`;
      if (!(await this.keepTorn(tornPath, tail, info.file))) return;
      await promisify(fs.ftruncate)(fd, goodEnd);
      await fsync(fd);
      await syncDir(info.dir);
      this.logger.warn(
        { file: info.file, torn_bytes: tail.length, kept_in: tornPath, reason, last_good_pos: lastPos },
        'torn tail cut off the log (an interrupted write); its bytes are kept beside it',
      );
    } finally {
      await close(fd);
    }
  }
}

/**
 * Logs are dealt round robin in rounds of 20 × (workers + 1): this thread takes 19 of each round,
 * the workers the rest in turn; this thread also takes in the workers' results, so it does a little less.
 */
/** The logs this thread scans: the next LOGS_A_CLAIM of `found` at a time, from the count it shares with the replay workers. */
function* claimed(found: StreamInfo[], next: Int32Array): Generator<StreamInfo> {
  for (const [from, to] of claims(next, found.length, LOGS_A_CLAIM)) for (let i = from; i < to; i++) yield found[i];
}

/** Below this many free bytes on the data directory's disk, the store starts read-only. */
const MIN_FREE_BYTES = 64 << 10;

/** Why the data directory's disk is too full to take writes, or undefined. */
async function lowOnSpace(dataDir: string): Promise<string | undefined> {
  const stats = await fs.promises.statfs(dataDir);
  const free = stats.bavail * stats.bsize;
  return free < MIN_FREE_BYTES ? `the disk of ${dataDir} has ${free} bytes free (bmo wants ${MIN_FREE_BYTES} to take writes)` : undefined;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

async function syncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}

/** Why a checkpoint cannot be used (a log is gone or shorter than it says: the logs were restored from an older copy), or undefined. */
function checkpointRefused(checkpoint: JsonlCheckpoint, sizes: Map<string, number>): string | undefined {
  for (const [name, , size] of checkpoint.streams) {
    const onDisk = sizes.get(name) ?? -1;
    if (size > 0 && onDisk < size) return `${name} holds ${onDisk < 0 ? 'no log' : `${onDisk} bytes`} where the snapshot covers ${size}: its pos is beyond the log`;
  }
  return undefined;
}
