import fs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { StoreCheckpoint } from '../store/index.js';
import type { EntriesText } from '../../projections/types.js';
import { PROJECTION_VERSIONS, type ReadModels } from './read-models.js';

/** The snapshot format's own version: a file of another is ignored. */
export const SNAPSHOT_VERSION = 4;
const FORMAT = 'bmo-read-models';

/**
 * A header line, then the body: its JSON, a newline, and its binary parts, each named in the JSON
 * by `{"$bin": i}`: the typed arrays of the store's checkpoint, as they are in memory, then the
 * text of each state packed by entry (its entries' JSON end to end, each decoded only when a
 * start's models first read it: `LazyMap`). The header carries the JSON's length, each binary
 * part's length, which of them a start reads only when it needs them (the entries' text), and the
 * CRC-32 of the whole body. The header line and each binary part start 8-byte aligned (padded with
 * spaces). A start reads the JSON and the arrays into memory (an array is used as it was read,
 * not copied) and the rest only through the CRC, then reads an entry from where it lies when it
 * is first asked for.
 */
interface SnapshotHeader {
  format: string;
  version: number;
  projections: Record<string, number>;
  pos: number;
  taken_at: string;
  bytes: number;
  binary: number[];
  /** The binary parts a start reads only when it needs them (the entries' text), by index. */
  lazy: number[];
  crc: string;
}

export interface Snapshot {
  pos: number;
  /** What `ReadModels.pack` gave, for `ReadModels.restore`. */
  models: { pos: number } & Record<string, unknown>;
  store: StoreCheckpoint;
}

/** How a snapshot is written: each turn packs for at most `turnMs`, or `turnEntries` entries (tests). */
export interface SnapshotPace {
  turnMs: number;
  turnEntries?: number;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Entries joined into one piece of a text part, and bytes of a binary part checked in one go: a few milliseconds each. */
const TEXT_ENTRIES = 500;
const CRC_SLICE = 4 << 20;

/**
 * The read models and the store's checkpoint at one pos, as the pieces of a snapshot file, without
 * holding the event loop for long: the models are packed a turn at a time (`ReadModels.pack`;
 * events keep coming and the snapshot still holds the models as they were at its pos), and the
 * store's arrays go out as they are. Call it in the same turn as `checkpoint` was taken.
 */
export async function encodeSnapshot(models: ReadModels, store: StoreCheckpoint, takenAt: Date, pace: SnapshotPace): Promise<{ pos: number; parts: Buffer[] }> {
  const packing = models.pack();
  const binary: Buffer[][] = [];
  const storeJson = JSON.stringify(store, (_key, value) => (ArrayBuffer.isView(value) ? { $bin: binary.push([Buffer.from(value.buffer, value.byteOffset, value.byteLength)]) - 1 } : value));
  try {
    while (!packing.step(performance.now() + pace.turnMs, pace.turnEntries)) await nextTurn();
  } finally {
    packing.abandon();
  }
  const modelsJson = packing.json(binary.length);
  const lazy: number[] = [];
  for (let j = 0; j < packing.keyedCount; j++) {
    lazy.push(binary.length);
    const pieces: Buffer[] = [];
    for (const piece of packing.entriesText(j, TEXT_ENTRIES)) {
      pieces.push(piece);
      await nextTurn();
    }
    binary.push(pieces);
  }
  const parts: Buffer[] = [];
  let crc = 0;
  let sinceTurn = 0;
  // The CRC goes a few megabytes a turn.
  const add = async (part: Buffer) => {
    parts.push(part);
    for (let at = 0; at < part.length; at += CRC_SLICE) {
      const slice = part.subarray(at, at + CRC_SLICE);
      crc = crc32(slice, crc);
      if ((sinceTurn += slice.length) < CRC_SLICE) continue;
      sinceTurn = 0;
      await nextTurn();
    }
  };
  await add(Buffer.from(`{"models":${modelsJson},"store":${storeJson}}`));
  const bytes = parts.reduce((sum, part) => sum + part.length, 0);
  const lengths = binary.map((pieces) => pieces.reduce((sum, piece) => sum + piece.length, 0));
  const { starts } = binaryLayout(bytes, lengths);
  let end = bytes;
  for (let i = 0; i < binary.length; i++) {
    // A newline after the JSON, then spaces up to the part's aligned start.
    const pad = Buffer.alloc(starts[i] - end, 0x20);
    if (i === 0) pad[0] = 10;
    await add(pad);
    for (const piece of binary[i]) await add(piece);
    end = starts[i] + lengths[i];
  }
  if (binary.length === 0) await add(Buffer.from('\n'));
  const header: SnapshotHeader = { format: FORMAT, version: SNAPSHOT_VERSION, projections: PROJECTION_VERSIONS, pos: packing.pos, taken_at: takenAt.toISOString(), bytes, binary: lengths, lazy, crc: crc.toString(16).padStart(8, '0') };
  const headerLine = JSON.stringify(header);
  return { pos: packing.pos, parts: [Buffer.from(`${headerLine.padEnd(align8(headerLine.length + 1) - 1)}\n`), ...parts] };
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Where each binary part starts in the body (after the JSON's `bytes` and a newline, 8-aligned), and where the body ends. */
function binaryLayout(bytes: number, lengths: number[]): { starts: number[]; end: number } {
  const starts: number[] = [];
  let at = bytes + 1;
  for (const length of lengths) {
    at = align8(at);
    starts.push(at);
    at += length;
  }
  return { starts, end: at };
}

/** Whether a value is a binary part's name in the JSON, `{"$bin": i}`. */
const isBin = (value: unknown): value is { $bin: number } => value !== null && typeof value === 'object' && typeof (value as { $bin?: unknown }).$bin === 'number';

/** Puts a snapshot's binary parts back where the JSON names them (`{"$bin": i}`), in objects only: the store's checkpoint keeps its arrays in objects. */
function reviveBinary(value: unknown, binary: Buffer[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const field = object[key];
    if (isBin(field)) object[key] = binary[field.$bin];
    else reviveBinary(field, binary);
  }
}

/** A snapshot's bytes where they lie, read a range at a time: a file (kept open while its entries are read), or bytes in memory. */
export interface SnapshotBytes {
  readonly size: number;
  /** `length` bytes from `at`, into `into` when given (else a buffer of their own, 8-byte aligned, or the bytes in memory themselves). */
  read(at: number, length: number, into?: Buffer): Buffer;
  close(): void;
}

/** Bytes in memory as a snapshot's (a table's row, a test's file). */
export function bytesOf(buffer: Buffer): SnapshotBytes {
  return {
    size: buffer.length,
    read(at, length, into) {
      const bytes = buffer.subarray(at, at + length);
      return into ? into.subarray(0, bytes.copy(into)) : bytes;
    },
    close() {},
  };
}

/** A snapshot file, open: ranges are read when asked for, until it is closed (a newer snapshot may remove its name meanwhile). */
class SnapshotFile implements SnapshotBytes {
  readonly size: number;
  private fd: number | undefined;

  constructor(path: string) {
    this.fd = fs.openSync(path, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  read(at: number, length: number, into = Buffer.allocUnsafeSlow(length)): Buffer {
    if (this.fd === undefined) throw new Error('the snapshot file was closed');
    for (let done = 0; done < length; ) {
      const n = fs.readSync(this.fd, into, done, length - done, at + done);
      if (n === 0) throw new Error(`the snapshot file ends at ${at + done}, before ${at + length}`);
      done += n;
    }
    return into.subarray(0, length);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** What a start reads at a time of the bytes it only checks: the same memory each time. */
const SCRATCH = 1 << 20;

/**
 * The body's CRC, read in order: the JSON and the parts kept in memory into their own buffers,
 * the padding and the lazy parts through one scratch buffer.
 */
function readBody(source: SnapshotBytes, bodyAt: number, header: SnapshotHeader, starts: number[]): { json: Buffer; kept: (Buffer | undefined)[]; crc: string } {
  const json = source.read(bodyAt, header.bytes);
  let crc = crc32(json);
  const scratch = Buffer.allocUnsafeSlow(SCRATCH);
  const through = (from: number, to: number) => {
    for (let at = from; at < to; at += SCRATCH) crc = crc32(source.read(bodyAt + at, Math.min(SCRATCH, to - at), scratch), crc);
  };
  let at = header.bytes;
  const kept = header.binary.map((length, i) => {
    through(at, starts[i]);
    at = starts[i] + length;
    if (header.lazy.includes(i)) {
      through(starts[i], at);
      return undefined;
    }
    // Read and checked a slice at a time: each is checked while it is still in the cache.
    const part = Buffer.allocUnsafeSlow(length);
    for (let done = 0; done < length; done += SCRATCH) crc = crc32(source.read(bodyAt + starts[i] + done, Math.min(SCRATCH, length - done), part.subarray(done)), crc);
    return part;
  });
  return { json, kept, crc: crc.toString(16).padStart(8, '0') };
}

/** What a lazy part is read ahead by when its entries are asked for one after another (as iterating them does). */
const READ_AHEAD = 256 << 10;

/**
 * A lazy part's entries (`length` bytes from `at`), read from the source when asked: one entry
 * alone, or, when they are asked for in the order they lie, a block of them ahead; the source is
 * closed once every lazy part let go.
 */
function entriesIn(source: SnapshotBytes, at: number, length: number, open: { parts: number }): EntriesText {
  let released = false;
  let block: Buffer = Buffer.alloc(0);
  let blockAt = 0;
  let next = -1;
  return {
    bytes(start, end) {
      if (start < blockAt || end > blockAt + block.length) {
        // A new buffer each time: what was handed out of the last one stays as it is.
        blockAt = start;
        block = source.read(at + start, start === next ? Math.min(Math.max(READ_AHEAD, end - start), length - start) : end - start);
      }
      next = end;
      return block.subarray(start - blockAt, end - blockAt);
    },
    release() {
      if (released) return;
      released = true;
      if (--open.parts === 0) source.close();
    },
  };
}

/**
 * A snapshot read back, or why it cannot be used: another format or version, other projection
 * versions, a CRC or length that does not match. The source stays open while the models read
 * entries from it (it is closed when they have all been read); a refused one is closed.
 */
export function decodeSnapshot(input: SnapshotBytes | Buffer): Snapshot | { refused: string } {
  const source = Buffer.isBuffer(input) ? bytesOf(input) : input;
  let open = false;
  try {
    const decoded = decodeFrom(source);
    open = !('refused' in decoded);
    return decoded;
  } finally {
    if (!open) source.close();
  }
}

function decodeFrom(source: SnapshotBytes): Snapshot | { refused: string } {
  const head = source.read(0, Math.min(source.size, 1 << 16));
  const newline = head.indexOf(10);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(head.toString('utf8', 0, newline < 0 ? head.length : newline));
  } catch {
    return { refused: 'its header is not JSON' };
  }
  if (header.format !== FORMAT || header.version !== SNAPSHOT_VERSION) return { refused: `it is ${header.format} version ${header.version}, not ${FORMAT} version ${SNAPSHOT_VERSION}` };
  for (const [name, version] of Object.entries(PROJECTION_VERSIONS)) {
    if (header.projections?.[name] !== version) return { refused: `its ${name} projection is version ${header.projections?.[name]}, this bmo's is ${version}` };
  }
  const bodyAt = newline + 1;
  const { starts, end } = binaryLayout(header.bytes, header.binary);
  if (source.size - bodyAt !== end) return { refused: `it is cut short or has bytes beyond its body (${source.size - bodyAt} of ${end})` };
  const { json, kept, crc } = readBody(source, bodyAt, header, starts);
  if (crc !== header.crc) return { refused: `its CRC is ${crc}, the header says ${header.crc}` };
  const { models, store } = JSON.parse(json.toString('utf8'));
  reviveBinary(store, kept as Buffer[]);
  // A state packed by entry names its text part, read when an entry is; nothing else in the models does.
  const open = { parts: 0 };
  for (const state of Object.values(models as Record<string, { text?: unknown }>)) {
    if (state === null || typeof state !== 'object' || !isBin(state.text)) continue;
    if (!header.lazy.includes(state.text.$bin)) throw new Error(`part ${state.text.$bin} is not one read when needed`);
    open.parts++;
    state.text = entriesIn(source, bodyAt + starts[state.text.$bin], header.binary[state.text.$bin], open);
  }
  if (open.parts === 0) source.close();
  return { pos: header.pos, models, store };
}

/** Where snapshots are kept: files in the data directory, or a table of the PostgreSQL schema. */
export interface SnapshotStore {
  /** Where, for messages. */
  readonly where: string;
  /** Keeps one snapshot: `parts` in order are its bytes. */
  save(pos: number, parts: Buffer[]): Promise<void>;
  /** The kept snapshots, newest first, read one at a time. */
  load(): AsyncIterable<{ name: string; bytes: SnapshotBytes }>;
}

const FILE = /^snapshot-(\d{1,15})\.json$/;

/** `<dir>/snapshot-<pos>.json`, each written to a temp file, synced and renamed; the `keep` newest stay. */
export class FileSnapshots implements SnapshotStore {
  constructor(
    readonly where: string,
    private readonly keep: number,
  ) {}

  async save(pos: number, parts: Buffer[]): Promise<void> {
    await fs.promises.mkdir(this.where, { recursive: true });
    const path = join(this.where, `snapshot-${pos}.json`);
    const handle = await fs.promises.open(`${path}.tmp`, 'w');
    try {
      for (const part of parts) await handle.writeFile(part);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(`${path}.tmp`, path);
    const dir = await fs.promises.open(this.where, 'r');
    await dir.sync().finally(() => dir.close());
    for (const old of this.names().slice(this.keep)) await fs.promises.rm(join(this.where, old), { force: true });
  }

  async *load(): AsyncIterable<{ name: string; bytes: SnapshotBytes }> {
    // Read on this thread, on startup: the store stats its logs on another meanwhile.
    for (const name of this.names()) yield { name: join(this.where, name), bytes: new SnapshotFile(join(this.where, name)) };
  }

  /** Snapshot files, newest first. */
  private names(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.where);
    } catch {
      return [];
    }
    return names
      .filter((n) => FILE.test(n))
      .sort((a, b) => Number(FILE.exec(b)![1]) - Number(FILE.exec(a)![1]));
  }
}

/** The schema's `snapshots` table, through the store's own connections. */
export class TableSnapshots implements SnapshotStore {
  constructor(
    readonly where: string,
    private readonly store: { saveSnapshot(pos: number, body: string, keep: number): Promise<void>; loadSnapshots(): Promise<{ pos: number; body: string }[]> },
    private readonly keep: number,
  ) {}

  /** As text: a PostgreSQL store's checkpoint has no arrays, so its snapshot's only binary parts are text (the teams' JSON, padded with spaces). */
  save(pos: number, parts: Buffer[]): Promise<void> {
    return this.store.saveSnapshot(pos, Buffer.concat(parts).toString('utf8'), this.keep);
  }

  async *load(): AsyncIterable<{ name: string; bytes: SnapshotBytes }> {
    for (const row of await this.store.loadSnapshots()) yield { name: `${this.where} pos ${row.pos}`, bytes: bytesOf(Buffer.from(row.body, 'utf8')) };
  }
}
