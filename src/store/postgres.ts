import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { pgDriver } from './pg-driver.js';
import type { Logger } from 'pino';
import { parseStreamName, type DomainEvent, type Envelope, type StreamName } from '../../events/index.js';
import { BmoError, VersionConflictError } from '../errors.js';
import { checkEvents, noop, versionMatches } from './checks.js';
import { isoOf } from './line.js';
import { CommitListeners } from './listeners.js';
import { PAGE, PostgresFollower, StreamStates, type StoreState } from './postgres-follower.js';
import { RowDecoder, describeUrl, ensureSchema, tablesFor, type Tables } from './postgres-schema.js';
import { InstanceLock } from './postgres-instance.js';
import { PostgresWriter, type PendingAppend } from './postgres-writer.js';
import { RecentEvents } from './recent.js';
import { SCHEMA_PATTERN, type AppendOptions, type EventStore, type OpenOptions, type StoreCheckpoint, type StoredEvent, type StreamFilter } from './types.js';

export { describeUrl } from './postgres-schema.js';

const READ_BYTES_PER_CALL = 4 << 20;
/** Rows a read of lines asks for at a time: its memory and each turn's work stay small. */
const LINES_PAGE = 250;
/** A filtered readAll looks at no more rows than this per call before it hands back `next`. */
const SCAN_ROWS_PER_CALL = 50_000;

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database` */
  url: string;
  /** The schema the tables live in, created on open when missing. */
  schema?: string;
  logger: Logger;
  /** What this process is, as PostgreSQL shows it in pg_stat_activity. */
  role?: string;
  recentCapacity?: number;
  /** How often the log is polled when no notification arrives (a lost LISTEN connection, a missed NOTIFY). */
  pollIntervalMs?: number;
  poolSize?: number;
  /** How long `close` waits for appends in flight before refusing them. */
  closeTimeoutMs?: number;
}

/**
 * The shared backend: one PostgreSQL schema holds the log of several bmo instances.
 *
 * - Commit order is pos order: the writer (`postgres-writer.ts`) takes positions under a lock on
 *   the single `head` row, so a later pos is never visible before an earlier one, and a rolled back
 *   transaction gives its positions back.
 * - Every instance delivers every committed event, its own and the others', to its listeners
 *   exactly once, in pos order (`postgres-follower.ts`). An append resolves once everything up to
 *   its last pos has been delivered.
 * - The tables are created on open when missing (`postgres-schema.ts`).
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  private readonly url: string;
  private readonly logger: Logger;
  private readonly role: string;
  private readonly poolSize: number;
  private readonly closeTimeoutMs: number;
  private readonly t: Tables;
  private readonly rows: RowDecoder;
  private readonly recent: RecentEvents;
  private readonly listeners: CommitListeners;
  private readonly streams = new StreamStates();
  private readonly follower: PostgresFollower;
  private readonly writer: PostgresWriter;
  private readonly instance: InstanceLock;
  private pool: pg.Pool | undefined;
  private closing: Promise<void> | undefined;
  private state: StoreState = 'new';

  constructor(options: PostgresStoreOptions) {
    const schema = options.schema ?? 'bmo';
    if (!SCHEMA_PATTERN.test(schema)) throw new BmoError('bad_request', `[store] schema "${schema}" is not a schema name (${SCHEMA_PATTERN.source})`);
    this.schema = schema;
    this.url = options.url;
    this.logger = options.logger;
    this.listeners = new CommitListeners(options.logger);
    this.role = options.role ?? 'bmo';
    this.poolSize = options.poolSize ?? 10;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 15_000;
    this.recent = new RecentEvents(options.recentCapacity ?? 4096);
    this.t = tablesFor(schema);
    this.rows = new RowDecoder(this.where, this.t);
    const pool = () => this.requirePool();
    this.follower = new PostgresFollower({
      url: this.url,
      role: this.role,
      logger: this.logger,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      t: this.t,
      rows: this.rows,
      pool,
      streams: this.streams,
      recent: this.recent,
      listeners: this.listeners,
      state: () => this.state,
    });
    this.instance = new InstanceLock(this.url, schema, this.role, this.logger);
    this.writer = new PostgresWriter({ logger: this.logger, where: this.where, t: this.t, pool, streams: this.streams, follower: this.follower });
  }

  /** The server, without the password, for messages. */
  get where(): string {
    return describeUrl(this.url);
  }

  async open(options: OpenOptions = {}): Promise<void> {
    if (this.state !== 'new') throw new Error('store already opened');
    this.state = 'opening';
    const pool = new (await pgDriver()).Pool({ connectionString: this.url, max: this.poolSize, application_name: `bmo (${this.role})`, connectionTimeoutMillis: 10_000 });
    pool.on('error', (error) => this.logger.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool replaces it'));
    this.pool = pool;
    try {
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        throw new BmoError('store_unavailable', `PostgreSQL at ${this.where} does not answer (${(error as Error).message}); check [store] url and that the server is running`, { cause: error });
      }
      const migrated = await ensureSchema(pool, this.t, this.where);
      if (migrated.length > 0) this.logger.info({ schema: this.schema, migrated }, 'the PostgreSQL schema was brought up to date');
      await this.instance.hold();
      await this.follower.listen();
      await this.follower.replay(options);
      if (this.state !== 'opening') throw new BmoError('store_unavailable', 'the store was closed while it opened');
    } catch (error) {
      this.state = 'closed';
      await this.shutdown();
      throw error;
    }
    this.state = 'open';
    this.follower.startPolling();
  }

  /** This process among the instances sharing the schema. */
  get instanceId(): string {
    return this.instance.id;
  }

  /** Whether the instance `id` stopped running: no connection holds its lock any more (postgres-instance.ts). */
  instanceGone(id: string): Promise<boolean> {
    return this.instance.gone(this.requirePool(), id);
  }

  version(stream: StreamName): number {
    return this.streams.has(stream) ? this.streams.get(stream).assigned : 0;
  }

  /** Keeps a snapshot in the schema's `snapshots` table (made on first use), and the `keep` newest only. */
  async saveSnapshot(pos: number, body: string, keep: number): Promise<void> {
    const pool = this.pool!;
    const table = `"${this.t.schema}".snapshots`;
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (pos bigint PRIMARY KEY, taken_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)`);
    await pool.query(`INSERT INTO ${table} (pos, body) VALUES ($1, $2) ON CONFLICT (pos) DO UPDATE SET body = EXCLUDED.body, taken_at = now()`, [pos, body]);
    await pool.query(`DELETE FROM ${table} WHERE pos NOT IN (SELECT pos FROM ${table} ORDER BY pos DESC LIMIT ${keep})`);
  }

  /** The snapshots kept, newest first; none before the table exists. Needs a pool: called once the store has connected. */
  async loadSnapshots(pool: pg.Pool | undefined = this.pool): Promise<{ pos: number; body: string }[]> {
    if (!pool) return [];
    const { rows } = await pool.query<{ pos: string; body: string }>(`SELECT pos, body FROM "${this.t.schema}".snapshots ORDER BY pos DESC LIMIT 4`).catch((error: { code?: string }) => {
      if (error.code === '42P01') return { rows: [] }; // no such table: no snapshot taken yet
      throw error;
    });
    return rows.map((row) => ({ pos: Number(row.pos), body: row.body }));
  }

  /** A snapshot's start: the delivered pos (stream versions are read back from the table). */
  checkpoint(): StoreCheckpoint {
    return { backend: 'postgres', pos: this.follower.head() };
  }

  /** The highest pos delivered to this instance's listeners. */
  head(): number {
    return this.follower.head();
  }

  /**
   * Resolves once everything committed in the database when it was called is delivered here, other
   * instances' writes included. What a command calls before it trusts this instance's state
   * against a version another one set.
   */
  catchUp(): Promise<void> {
    return this.follower.catchUp();
  }

  onCommit(listener: (batch: StoredEvent[]) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * Throws at once, with nothing queued, when the events or the expected version (as this instance
   * knows it) are refused; otherwise resolves once PostgreSQL committed the events and every event
   * up to them was delivered here. Another instance may have moved the stream in the meantime:
   * then the promise rejects with a VersionConflictError and nothing of it is written.
   */
  append(stream: StreamName, events: DomainEvent[], options: AppendOptions = {}): Promise<Envelope[]> {
    if (this.state !== 'open') throw new BmoError('store_unavailable', 'the store is not open');
    const parsed = parseStreamName(stream);
    if (!parsed) throw new BmoError('invalid_id', `"${stream}" is not a stream name (kind/id)`);
    const checked = checkEvents(parsed.kind, events, options.decided);
    const state = this.streams.get(stream);
    const expected = options.expectedVersion ?? 'any';
    if (!versionMatches(expected, state.assigned)) throw new VersionConflictError(stream, options.expectedVersion, state.assigned);
    if (checked.length === 0) return Promise.resolve([]);
    state.assigned += checked.length;
    const append: PendingAppend = {
      stream,
      events: checked,
      expected,
      epoch: state.epoch,
      at: isoOf(options.at ?? new Date()),
      meta: options.meta ?? {},
      ids: checked.map((_, i) => options.ids?.[i] ?? randomUUID()),
      claimKey: options.claimKey,
      stored: [],
      lastPos: 0,
      resolve: noop,
      reject: noop,
    };
    return new Promise<Envelope[]>((resolve, reject) => {
      append.resolve = resolve;
      append.reject = reject;
      this.writer.enqueue(append);
    });
  }

  async *readStream(stream: StreamName, fromSeq = 1): AsyncIterable<StoredEvent> {
    const pool = this.pool;
    if (!pool || !this.streams.has(stream)) return;
    const head = this.follower.head();
    let seq = Math.max(1, fromSeq);
    for (;;) {
      const { rows } = await pool.query<{ pos: string; seq: string; line: string }>(
        `SELECT pos, seq, line FROM ${this.t.events} WHERE stream = $1 AND seq >= $2 AND pos <= $3 ORDER BY seq LIMIT ${PAGE}`,
        [stream, seq, head],
      );
      for (const row of rows) yield this.rows.decode(Number(row.pos), row.line);
      if (rows.length < PAGE) return;
      seq = Number(rows[rows.length - 1].seq) + 1;
    }
  }

  async *readLines(stream: StreamName, fromSeq = 1, limit = Infinity): AsyncIterable<Buffer> {
    const pool = this.pool;
    if (!pool || !this.streams.has(stream)) return;
    const head = this.follower.head();
    let seq = Math.max(1, fromSeq);
    for (let left = limit; left > 0; ) {
      const want = Math.min(LINES_PAGE, left);
      const { rows } = await pool.query<{ pos: string; seq: string; line: string }>(
        `SELECT pos, seq, line FROM ${this.t.events} WHERE stream = $1 AND seq >= $2 AND pos <= $3 ORDER BY seq LIMIT ${want}`,
        [stream, seq, head],
      );
      if (rows.length > 0) yield Buffer.concat(rows.map((row) => this.rows.line(Number(row.pos), row.line)));
      if (rows.length < want) return;
      left -= rows.length;
      seq = Number(rows[rows.length - 1].seq) + 1;
    }
  }

  async readAll(fromPos: number, options: { filter?: StreamFilter; limit?: number } = {}): Promise<{ events: StoredEvent[]; next: number }> {
    const limit = Math.max(1, options.limit ?? 1000);
    const head = this.follower.head();
    if (fromPos >= head) return { events: [], next: fromPos };
    const fromMemory = this.recent.readAfter(fromPos, head, limit, options.filter);
    if (fromMemory) return fromMemory;
    return options.filter ? this.readFiltered(fromPos, head, limit, options.filter) : this.readRange(fromPos, head, limit);
  }

  async close(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.closing ??= this.shutdownAfterFlush();
    return this.closing;
  }

  /** Every event after `fromPos` up to `head`, at most `limit` and about READ_BYTES_PER_CALL. */
  private async readRange(fromPos: number, head: number, limit: number): Promise<{ events: StoredEvent[]; next: number }> {
    const pool = this.requirePool();
    const events: StoredEvent[] = [];
    let cursor = fromPos;
    let bytes = 0;
    while (events.length < limit && bytes < READ_BYTES_PER_CALL) {
      const want = Math.min(PAGE, limit - events.length);
      const { rows } = await pool.query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.t.events} WHERE pos > $1 AND pos <= $2 ORDER BY pos LIMIT ${want}`, [cursor, head]);
      for (const row of rows) {
        const event = this.rows.decode(Number(row.pos), row.line);
        events.push(event);
        bytes += event.line.length;
        cursor = event.envelope.pos;
      }
      if (rows.length < want) return { events, next: head };
    }
    return { events, next: cursor };
  }

  /** Filtered: looks at the streams first, then fetches only the lines that pass. */
  private async readFiltered(fromPos: number, head: number, limit: number, filter: StreamFilter): Promise<{ events: StoredEvent[]; next: number }> {
    const pool = this.requirePool();
    const wanted: number[] = [];
    let cursor = fromPos;
    let bytes = 0;
    let scanned = 0;
    scan: while (wanted.length < limit && bytes < READ_BYTES_PER_CALL && scanned < SCAN_ROWS_PER_CALL) {
      const { rows } = await pool.query<{ pos: string; stream: string; n: number }>(
        `SELECT pos, stream, octet_length(line) AS n FROM ${this.t.events} WHERE pos > $1 AND pos <= $2 ORDER BY pos LIMIT ${PAGE * 5}`,
        [cursor, head],
      );
      for (const row of rows) {
        cursor = Number(row.pos);
        scanned++;
        if (filter(row.stream)) {
          wanted.push(cursor);
          bytes += row.n;
          if (wanted.length >= limit || bytes >= READ_BYTES_PER_CALL) break scan;
        }
      }
      if (rows.length < PAGE * 5) {
        cursor = head;
        break;
      }
    }
    const events: StoredEvent[] = [];
    for (let i = 0; i < wanted.length; i += PAGE) {
      const { rows } = await pool.query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.t.events} WHERE pos = ANY($1::bigint[]) ORDER BY pos`, [wanted.slice(i, i + PAGE)]);
      for (const row of rows) events.push(this.rows.decode(Number(row.pos), row.line));
    }
    return { events, next: cursor };
  }

  private async shutdownAfterFlush(): Promise<void> {
    this.state = 'closing';
    const flushing = this.writer.inFlight();
    if (flushing) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([flushing.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.closeTimeoutMs)))]);
      clearTimeout(timer);
      if (timedOut) this.writer.refuseAll(new BmoError('store_unavailable', `the store closed before PostgreSQL at ${this.where} confirmed these appends; they may or may not have been written`));
    }
    this.state = 'closed';
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    await this.instance.release();
    await this.follower.stop();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => {});
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new BmoError('store_unavailable', 'the store is not open');
    return this.pool;
  }
}
