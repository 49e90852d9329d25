import fs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { StoreCheckpoint } from '../store/index.js';
import { PROJECTION_VERSIONS } from './read-models.js';

/** The snapshot format's own version: a file of another is ignored. */
export const SNAPSHOT_VERSION = 2;
const FORMAT = 'bmo-read-models';

/** A header line, then the body line; the header carries the body's length and CRC-32. */
interface SnapshotHeader {
  format: string;
  version: number;
  projections: Record<string, number>;
  pos: number;
  taken_at: string;
  bytes: number;
  crc: string;
}

export interface Snapshot {
  pos: number;
  /** What `ReadModels.serialize` gave, for `ReadModels.restore`. */
  models: { pos: number } & Record<string, unknown>;
  store: StoreCheckpoint;
}

/** The read models and the store's checkpoint at one pos, as two lines of JSON. */
export function encodeSnapshot(models: Snapshot['models'], store: StoreCheckpoint, takenAt: Date): Buffer {
  const body = Buffer.from(JSON.stringify({ models, store }), 'utf8');
  const header: SnapshotHeader = { format: FORMAT, version: SNAPSHOT_VERSION, projections: PROJECTION_VERSIONS, pos: models.pos, taken_at: takenAt.toISOString(), bytes: body.length, crc: crc32(body).toString(16).padStart(8, '0') };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body, Buffer.from('\n')]);
}

/** A snapshot read back, or why it cannot be used: another format or version, other projection versions, a CRC or length that does not match. */
export function decodeSnapshot(bytes: Buffer): Snapshot | { refused: string } {
  const newline = bytes.indexOf(10);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 0, newline < 0 ? bytes.length : newline));
  } catch {
    return { refused: 'its header is not JSON' };
  }
  if (header.format !== FORMAT || header.version !== SNAPSHOT_VERSION) return { refused: `it is ${header.format} version ${header.version}, not ${FORMAT} version ${SNAPSHOT_VERSION}` };
  for (const [name, version] of Object.entries(PROJECTION_VERSIONS)) {
    if (header.projections?.[name] !== version) return { refused: `its ${name} projection is version ${header.projections?.[name]}, this bmo's is ${version}` };
  }
  const body = bytes.subarray(newline + 1, newline + 1 + header.bytes);
  if (body.length !== header.bytes || bytes.length !== newline + header.bytes + 2) return { refused: `it is cut short or has bytes beyond its body (${body.length} of ${header.bytes})` };
  const crc = crc32(body).toString(16).padStart(8, '0');
  if (crc !== header.crc) return { refused: `its CRC is ${crc}, the header says ${header.crc}` };
  const { models, store } = JSON.parse(body.toString('utf8'));
  return { pos: header.pos, models, store };
}

/** Where snapshots are kept: files in the data directory, or a table of the PostgreSQL schema. */
export interface SnapshotStore {
  /** Where, for messages. */
  readonly where: string;
  save(pos: number, bytes: Buffer): Promise<void>;
  /** The kept snapshots, newest first, read one at a time. */
  load(): AsyncIterable<{ name: string; bytes: Buffer }>;
}

const FILE = /^snapshot-(\d{1,15})\.json$/;

/** `<dir>/snapshot-<pos>.json`, each written to a temp file, synced and renamed; the `keep` newest stay. */
export class FileSnapshots implements SnapshotStore {
  constructor(
    readonly where: string,
    private readonly keep: number,
  ) {}

  async save(pos: number, bytes: Buffer): Promise<void> {
    await fs.promises.mkdir(this.where, { recursive: true });
    const path = join(this.where, `snapshot-${pos}.json`);
    const handle = await fs.promises.open(`${path}.tmp`, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(`${path}.tmp`, path);
    const dir = await fs.promises.open(this.where, 'r');
    await dir.sync().finally(() => dir.close());
    for (const old of this.names().slice(this.keep)) await fs.promises.rm(join(this.where, old), { force: true });
  }

  async *load(): AsyncIterable<{ name: string; bytes: Buffer }> {
    for (const name of this.names()) yield { name: join(this.where, name), bytes: await fs.promises.readFile(join(this.where, name)) };
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

  save(pos: number, bytes: Buffer): Promise<void> {
    return this.store.saveSnapshot(pos, bytes.toString('utf8'), this.keep);
  }

  async *load(): AsyncIterable<{ name: string; bytes: Buffer }> {
    for (const row of await this.store.loadSnapshots()) yield { name: `${this.where} pos ${row.pos}`, bytes: Buffer.from(row.body, 'utf8') };
  }
}
