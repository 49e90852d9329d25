import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import { parseStreamName, type DomainEvent, type Envelope, type Meta, type StreamName } from '../../events/index.js';
import { BmoError, CorruptLogError, VersionConflictError } from '../errors.js';
import { checkEvents, noop, versionMatches } from './jsonl.js';
import { decodeLine, encodeLine, isoOf } from './line.js';
import { CommitListeners } from './listeners.js';
import { RecentEvents } from './recent.js';
import { SCHEMA_PATTERN, type AppendOptions, type EventStore, type ExpectedVersion, type OpenOptions, type ReplayProgress, type StoredEvent, type StreamFilter } from './types.js';

/** Rows per query when following the log. */
const PAGE = 1000;
const REPLAY_PAGE = 10_000;
/** At most this many events go into one transaction; the rest wait for the next. */
const MAX_BATCH_EVENTS = 5000;
const READ_BYTES_PER_CALL = 4 << 20;
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

interface StreamState {
  /** The version the next local append expects: committed and delivered, plus this instance's appends not yet committed. */
  assigned: number;
  /** The highest seq known committed: delivered here, or committed by this instance. */
  committed: number;
  /**
   * Bumped when an append to the stream is refused at commit or fails: appends queued behind it with
   * a specific expected version were decided on events that never happened, and are refused too.
   */
  epoch: number;
}

interface PendingAppend {
  stream: StreamName;
  events: DomainEvent[];
  expected: ExpectedVersion;
  epoch: number;
  at: string;
  meta: Meta;
  ids: string[];
  /** Built inside the transaction, once pos and seq are known. */
  stored: StoredEvent[];
  lastPos: number;
  resolve: (envelopes: Envelope[]) => void;
  reject: (error: unknown) => void;
}

interface Tables {
  events: string;
  head: string;
  channel: string;
}

/** How long `catchUp` waits for delivery before it lets the caller go on with what it has. */
const CATCH_UP_MS = 2000;

/**
 * The shared backend: one PostgreSQL schema holds the log of several bmo instances.
 *
 * - Commit order is pos order: every append transaction first locks the single `head` row and
 *   takes its positions from it, so transactions that write events are serialised and a later pos
 *   is never visible before an earlier one. A rolled back transaction gives its positions back, so
 *   positions have no gap.
 * - Each instance groups its concurrent appends into one transaction, checks their expected
 *   versions against the table under the lock (a conflict with another instance is a
 *   VersionConflictError for that append only) and notifies the others on commit.
 * - Every instance delivers every committed event (its own and the others') to its listeners
 *   exactly once, in pos order: its own commits from memory when they are next, anything else by
 *   reading `pos > delivered` when woken by NOTIFY, and on a timer in case a notification is lost.
 *   An append resolves once everything up to its last pos has been delivered.
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  private readonly url: string;
  private readonly logger: Logger;
  private readonly role: string;
  private readonly pollIntervalMs: number;
  private readonly poolSize: number;
  private readonly closeTimeoutMs: number;
  private readonly t: Tables;
  private readonly recent: RecentEvents;
  private readonly listeners: CommitListeners;
  private readonly streams = new Map<string, StreamState>();
  private pool: pg.Pool | undefined;
  private listenClient: pg.Client | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  /** Appends accepted here and not yet in a transaction, in the order they were made. */
  private pending: PendingAppend[] = [];
  private writing = false;
  private writeScheduled = false;
  /** Committed appends waiting for delivery up to their last pos, in pos order. */
  private awaiting: PendingAppend[] = [];
  /** This instance's committed events not yet delivered, by pos: delivered from memory when next. */
  private readonly ownCommitted = new Map<number, StoredEvent>();
  private deliveredPos = 0;
  /** `catchUp` calls waiting for delivery to reach a position. */
  private catchingUp: { pos: number; resolve: () => void }[] = [];
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private gapSince = 0;
  private flushing: Promise<void> | undefined;
  private flushed: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';

  constructor(options: PostgresStoreOptions) {
    const schema = options.schema ?? 'bmo';
    if (!SCHEMA_PATTERN.test(schema)) throw new BmoError('bad_request', `[store] schema "${schema}" is not a schema name (${SCHEMA_PATTERN.source})`);
    this.schema = schema;
    this.url = options.url;
    this.logger = options.logger;
    this.listeners = new CommitListeners(options.logger);
    this.role = options.role ?? 'bmo';
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.poolSize = options.poolSize ?? 10;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 15_000;
    this.recent = new RecentEvents(options.recentCapacity ?? 4096);
    // A NOTIFY channel name is at most 63 bytes; two schemas sharing a prefix only wake each other.
    this.t = { events: `"${schema}".events`, head: `"${schema}".head`, channel: `bmo_${schema}`.slice(0, 63) };
  }

  /** The server, without the password, for messages. */
  get where(): string {
    return describeUrl(this.url);
  }

  async open(options: OpenOptions = {}): Promise<void> {
    if (this.state !== 'new') throw new Error('store already opened');
    this.state = 'opening';
    const pool = new pg.Pool({ connectionString: this.url, max: this.poolSize, application_name: `bmo (${this.role})`, connectionTimeoutMillis: 10_000 });
    pool.on('error', (error) => this.logger.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool replaces it'));
    this.pool = pool;
    try {
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        throw new BmoError('store_unavailable', `PostgreSQL at ${this.where} does not answer (${(error as Error).message}); check [store] url and that the server is running`, { cause: error });
      }
      await this.ensureSchema();
      await this.listen();
      await this.replay(options);
      if (this.state !== 'opening') throw new BmoError('store_unavailable', 'the store was closed while it opened');
    } catch (error) {
      this.state = 'closed';
      await this.shutdown();
      throw error;
    }
    this.state = 'open';
    this.pollTimer = setInterval(() => this.pump(), this.pollIntervalMs);
    this.pollTimer.unref();
    this.pump();
  }

  version(stream: StreamName): number {
    return this.streams.get(stream)?.assigned ?? 0;
  }

  /** The highest pos delivered to this instance's listeners. */
  head(): number {
    return this.deliveredPos;
  }

  /**
   * Resolves once everything committed in the database when it was called is delivered here, other
   * instances' writes included (at most `CATCH_UP_MS` later: a missing position holds delivery up).
   * What a command calls before it trusts this instance's state against a version another one set.
   */
  async catchUp(): Promise<void> {
    const { rows } = await this.requirePool().query<{ pos: string }>(`SELECT pos FROM ${this.t.head}`);
    const target = Number(rows[0]?.pos ?? 0);
    if (target <= this.deliveredPos) return;
    let timer: NodeJS.Timeout | undefined;
    const waiter = { pos: target, resolve: () => {} };
    await new Promise<void>((resolve) => {
      waiter.resolve = resolve;
      this.catchingUp.push(waiter);
      timer = setTimeout(resolve, CATCH_UP_MS);
      this.pump();
    });
    clearTimeout(timer);
    this.catchingUp = this.catchingUp.filter((w) => w !== waiter); // gone already unless the wait timed out
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
    const checked = checkEvents(parsed.kind, events);
    const state = this.streamState(stream);
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
      stored: [],
      lastPos: 0,
      resolve: noop,
      reject: noop,
    };
    return new Promise<Envelope[]>((resolve, reject) => {
      append.resolve = resolve;
      append.reject = reject;
      this.pending.push(append);
      this.scheduleWrite();
    });
  }

  async *readStream(stream: StreamName, fromSeq = 1): AsyncIterable<StoredEvent> {
    const pool = this.pool;
    if (!pool || !this.streams.has(stream)) return;
    const head = this.deliveredPos;
    let seq = Math.max(1, fromSeq);
    for (;;) {
      const { rows } = await pool.query<{ pos: string; seq: number; line: string }>(
        `SELECT pos, seq, line FROM ${this.t.events} WHERE stream = $1 AND seq >= $2 AND pos <= $3 ORDER BY seq LIMIT ${PAGE}`,
        [stream, seq, head],
      );
      for (const row of rows) yield this.decodeRow(Number(row.pos), row.line);
      if (rows.length < PAGE) return;
      seq = rows[rows.length - 1].seq + 1;
    }
  }

  async readAll(fromPos: number, options: { filter?: StreamFilter; limit?: number } = {}): Promise<{ events: StoredEvent[]; next: number }> {
    const limit = Math.max(1, options.limit ?? 1000);
    const filter = options.filter;
    const head = this.deliveredPos;
    const events: StoredEvent[] = [];
    if (fromPos >= head) return { events, next: fromPos };
    const fromMemory = this.recent.readAfter(fromPos, head, limit, filter);
    if (fromMemory) return fromMemory;
    const pool = this.requirePool();
    if (!filter) {
      let cursor = fromPos;
      let bytes = 0;
      while (events.length < limit && bytes < READ_BYTES_PER_CALL) {
        const want = Math.min(PAGE, limit - events.length);
        const { rows } = await pool.query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.t.events} WHERE pos > $1 AND pos <= $2 ORDER BY pos LIMIT ${want}`, [cursor, head]);
        for (const row of rows) {
          const event = this.decodeRow(Number(row.pos), row.line);
          events.push(event);
          bytes += event.line.length;
          cursor = event.envelope.pos;
        }
        if (rows.length < want) return { events, next: head };
      }
      return { events, next: cursor };
    }
    // Filtered: look at the streams first, then fetch only the lines that pass.
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
    for (let i = 0; i < wanted.length; i += PAGE) {
      const { rows } = await pool.query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.t.events} WHERE pos = ANY($1::bigint[]) ORDER BY pos`, [wanted.slice(i, i + PAGE)]);
      for (const row of rows) events.push(this.decodeRow(Number(row.pos), row.line));
    }
    return { events, next: cursor };
  }

  async close(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.closing ??= this.shutdownAfterFlush();
    return this.closing;
  }

  // --- writing ---------------------------------------------------------------------------------

  private streamState(stream: string): StreamState {
    let state = this.streams.get(stream);
    if (!state) {
      state = { assigned: 0, committed: 0, epoch: 0 };
      this.streams.set(stream, state);
    }
    return state;
  }

  /** The appends of one turn of the event loop go into one transaction, on the next turn. */
  private scheduleWrite(): void {
    this.flushing ??= new Promise((done) => (this.flushed = done));
    if (this.writeScheduled || this.writing) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.writeLoop().catch((error) => this.logger.error({ err: error }, 'the append loop failed'));
    });
  }

  /** One transaction at a time: the appends made while one runs form the next. */
  private async writeLoop(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        let events = 0;
        let take = 0;
        while (take < this.pending.length && (take === 0 || events + this.pending[take].events.length <= MAX_BATCH_EVENTS)) events += this.pending[take++].events.length;
        const batch = this.pending.splice(0, take);
        await this.commitBatch(batch);
      }
    } finally {
      this.writing = false;
      this.maybeSettle();
    }
  }

  /** Writes one group of appends in one transaction; never throws: every append is resolved, queued for delivery or refused. */
  private async commitBatch(batch: PendingAppend[]): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.requirePool().connect();
    } catch (error) {
      this.refuseBatch(batch, error, false);
      return;
    }
    let committing = false;
    let outcome: { accepted: PendingAppend[]; refused: { append: PendingAppend; actual: number }[] };
    try {
      // The row lock on head is held until COMMIT: every writer of the schema waits here, so positions follow commit order.
      const results = (await client.query(`BEGIN; SELECT pos FROM ${this.t.head} FOR UPDATE`)) as unknown as pg.QueryResult<{ pos: string }>[];
      const headRow = results[1].rows[0];
      if (!headRow) throw new Error(`${this.t.head} has no row`);
      let pos = Number(headRow.pos);
      const names = [...new Set(batch.map((a) => a.stream))];
      const { rows } = await client.query<{ stream: string; seq: number }>(
        `SELECT s.stream, coalesce((SELECT e.seq FROM ${this.t.events} e WHERE e.stream = s.stream ORDER BY e.seq DESC LIMIT 1), 0) AS seq FROM unnest($1::text[]) AS s(stream)`,
        [names],
      );
      const current = new Map(rows.map((r) => [r.stream, Number(r.seq)]));
      const refused: { append: PendingAppend; actual: number }[] = [];
      const refusedStreams = new Set<string>();
      const accepted: PendingAppend[] = [];
      const cols = { pos: [] as number[], stream: [] as string[], seq: [] as number[], id: [] as string[], type: [] as string[], at: [] as string[], line: [] as string[] };
      for (const append of batch) {
        const version = current.get(append.stream) ?? 0;
        const stale = append.expected !== 'any' && (refusedStreams.has(append.stream) || append.epoch !== this.streamState(append.stream).epoch);
        if (stale || !versionMatches(append.expected, version)) {
          refused.push({ append, actual: version });
          refusedStreams.add(append.stream);
          continue;
        }
        append.stored = append.events.map((event, i) => {
          // Built in the line's field order; encodeLine reads every field but the crc it computes.
          const envelope = { pos: ++pos, stream: append.stream, seq: version + i + 1, id: append.ids[i], type: event.type, at: append.at, data: event.data, meta: append.meta, crc: '' } as Envelope;
          const { line, crc } = encodeLine(envelope);
          envelope.crc = crc;
          cols.pos.push(envelope.pos);
          cols.stream.push(envelope.stream);
          cols.seq.push(envelope.seq);
          cols.id.push(envelope.id);
          cols.type.push(envelope.type);
          cols.at.push(envelope.at);
          cols.line.push(line.toString('utf8'));
          return { envelope, line };
        });
        current.set(append.stream, version + append.events.length);
        append.lastPos = pos;
        accepted.push(append);
      }
      if (accepted.length > 0) {
        await client.query(
          `WITH h AS (UPDATE ${this.t.head} SET pos = $1::bigint),
                ins AS (INSERT INTO ${this.t.events} (pos, stream, seq, id, type, at, line)
                        SELECT * FROM unnest($2::bigint[], $3::text[], $4::int[], $5::uuid[], $6::text[], $7::timestamptz[], $8::text[]))
           SELECT pg_notify($9, $1::bigint::text)`,
          [pos, cols.pos, cols.stream, cols.seq, cols.id, cols.type, cols.at, cols.line, this.t.channel],
        );
        committing = true;
        await client.query('COMMIT');
      } else {
        await client.query('ROLLBACK');
      }
      client.release();
      outcome = { accepted, refused };
    } catch (error) {
      client.release(error as Error);
      if ((error as { code?: string }).code === '23505') {
        // Only a writer that skips the head lock can get here: tell the caller as a conflict, nothing of the batch was written.
        this.logger.warn({ err: error }, 'a (stream, seq) was taken by a writer that did not lock the head row; the batch is refused');
        for (const append of batch) append.reject(new VersionConflictError(append.stream, append.expected, this.streamState(append.stream).committed));
        for (const stream of new Set(batch.map((a) => a.stream))) this.resetStream(stream);
        this.pump();
        return;
      }
      this.refuseBatch(batch, error, committing);
      return;
    }
    this.committed(outcome.accepted, outcome.refused);
  }

  private committed(accepted: PendingAppend[], refused: { append: PendingAppend; actual: number }[]): void {
    for (const { append, actual } of refused) append.reject(new VersionConflictError(append.stream, append.expected, actual));
    for (const append of accepted) {
      const state = this.streamState(append.stream);
      const last = append.stored[append.stored.length - 1].envelope.seq;
      if (last > state.committed) state.committed = last;
      if (last > state.assigned) state.assigned = last; // an 'any' append placed after another instance's events
      if (append.lastPos <= this.deliveredPos) {
        append.resolve(append.stored.map((e) => e.envelope)); // the log was read past it already
        continue;
      }
      for (const event of append.stored) if (event.envelope.pos > this.deliveredPos) this.ownCommitted.set(event.envelope.pos, event);
      this.awaiting.push(append);
    }
    for (const stream of new Set(refused.map((r) => r.append.stream))) this.resetStream(stream);
    this.deliverOwn();
    // Another instance committed before us (or moved a refused stream): read what it wrote.
    if (this.awaiting.length > 0 || refused.length > 0) this.pump();
  }

  /** A failed transaction: nothing of it is acknowledged; the store keeps serving and the next append tries again. */
  private refuseBatch(batch: PendingAppend[], error: unknown, duringCommit: boolean): void {
    const reason = (error as Error).message;
    const refusal = duringCommit
      ? new BmoError('store_unavailable', `the connection to PostgreSQL at ${this.where} failed during COMMIT (${reason}): the write may or may not have been made; retry with the same Idempotency-Key`, { cause: error })
      : new BmoError('store_unavailable', `PostgreSQL at ${this.where} refused the write (${reason}); nothing was written, retry`, { cause: error });
    this.logger.error({ err: error, appends: batch.length, during_commit: duringCommit }, 'an append transaction failed; its appends are refused');
    for (const append of batch) append.reject(refusal);
    for (const stream of new Set(batch.map((a) => a.stream))) this.resetStream(stream);
    if (duringCommit) this.pump();
  }

  /**
   * After a refusal the stream's local version goes back to what is committed and delivered here,
   * plus the appends still queued that take any version; the others queued are refused at commit.
   */
  private resetStream(stream: string): void {
    const state = this.streamState(stream);
    state.epoch++;
    let version = state.committed;
    for (const append of this.pending) if (append.stream === stream && append.expected === 'any') version += append.events.length;
    state.assigned = version;
  }

  private maybeSettle(): void {
    if (this.writing || this.writeScheduled || this.pending.length > 0 || this.awaiting.length > 0) return;
    const done = this.flushed;
    this.flushing = undefined;
    this.flushed = undefined;
    done?.();
  }

  // --- delivering ------------------------------------------------------------------------------

  /** This instance's own commits, when they are the next positions, need no read. */
  private deliverOwn(): void {
    const batch: StoredEvent[] = [];
    for (let event = this.ownCommitted.get(this.deliveredPos + 1); event; event = this.ownCommitted.get(this.deliveredPos + 1 + batch.length)) batch.push(event);
    if (batch.length > 0) this.deliver(batch);
  }

  /** `batch` continues the delivered positions without a gap. */
  private deliver(batch: StoredEvent[]): void {
    for (const event of batch) {
      const { pos, stream, seq } = event.envelope;
      this.ownCommitted.delete(pos);
      this.recent.push(event);
      this.deliveredPos = pos;
      const state = this.streamState(stream);
      if (seq > state.committed) state.committed = seq;
      if (seq > state.assigned) state.assigned = seq;
    }
    this.listeners.emit(batch);
    if (this.catchingUp.length > 0) {
      const waiting = this.catchingUp;
      this.catchingUp = waiting.filter((w) => w.pos > this.deliveredPos);
      for (const w of waiting) if (w.pos <= this.deliveredPos) w.resolve();
    }
    let resolved = 0;
    while (resolved < this.awaiting.length && this.awaiting[resolved].lastPos <= this.deliveredPos) resolved++;
    if (resolved > 0) {
      for (const append of this.awaiting.splice(0, resolved)) append.resolve(append.stored.map((e) => e.envelope));
      this.maybeSettle();
    }
  }

  /** Reads and delivers whatever is committed past the delivered position; calls made while it runs make it go round again. */
  private pump(): void {
    if (this.state !== 'open' && this.state !== 'closing') return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pumpLoop().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async pumpLoop(): Promise<void> {
    try {
      for (;;) {
        this.pumpAgain = false;
        this.deliverOwn();
        const from = this.deliveredPos;
        const { rows } = await this.requirePool().query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.t.events} WHERE pos > $1 ORDER BY pos LIMIT ${PAGE}`, [from]);
        const batch: StoredEvent[] = [];
        let gap = false;
        for (const row of rows) {
          const pos = Number(row.pos);
          const due = this.deliveredPos + 1 + batch.length;
          if (pos < due) continue; // delivered from memory while the query ran
          if (pos > due) {
            gap = true;
            break;
          }
          batch.push(this.ownCommitted.get(pos) ?? this.decodeRow(pos, row.line));
        }
        if (batch.length > 0) this.deliver(batch);
        if (gap) {
          // Commit order makes this impossible unless rows were deleted: say so, and look again later.
          if (this.gapSince === 0) this.gapSince = Date.now();
          else if (Date.now() - this.gapSince > 5000) this.logger.error({ missing_pos: this.deliveredPos + 1, schema: this.schema }, 'a position is missing from the events table; delivery waits for it');
          return;
        }
        this.gapSince = 0;
        if (rows.length < PAGE) {
          this.deliverOwn();
          return;
        }
      }
    } catch (error) {
      if (this.state !== 'open' && this.state !== 'closing') return;
      this.logger.warn({ err: error }, 'reading new events from PostgreSQL failed; retrying');
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, Math.min(this.pollIntervalMs, 1000));
      this.retryTimer.unref();
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: `bmo (${this.role}) listener` });
    const lost = (error?: Error) => {
      if (this.listenClient !== client) return;
      this.listenClient = undefined;
      client.end().catch(() => {});
      if (this.state !== 'open' && this.state !== 'opening') return;
      this.logger.warn({ err: error }, 'the LISTEN connection to PostgreSQL was lost; polling until it is back');
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (Number(message.payload) > this.deliveredPos) this.pump();
    });
    await client.connect();
    this.listenClient = client;
    try {
      await client.query(`LISTEN "${this.t.channel}"`);
    } catch (error) {
      this.listenClient = undefined;
      await client.end().catch(() => {});
      throw error;
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === 'opening') return this.scheduleReconnect();
      if (this.state !== 'open') return;
      this.listen().then(
        () => this.pump(),
        (error) => {
          this.logger.warn({ err: error }, 'could not LISTEN again; retrying');
          this.scheduleReconnect();
        },
      );
    }, 1000);
    this.reconnectTimer.unref();
  }

  // --- opening and closing ---------------------------------------------------------------------

  private async ensureSchema(): Promise<void> {
    const client = await this.requirePool().connect();
    try {
      await client.query('BEGIN');
      // Two instances starting together must not both create the tables.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('bmo schema ' || $1))`, [this.schema]);
      // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      const { rows: found } = await client.query<{ ready: boolean }>(`SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ready`, [this.t.events, this.t.head]);
      if (!found[0].ready) await client.query(`
        CREATE SCHEMA IF NOT EXISTS "${this.schema}";
        CREATE TABLE IF NOT EXISTS ${this.t.events} (
          pos bigint PRIMARY KEY,
          stream text NOT NULL,
          seq integer NOT NULL CHECK (seq > 0),
          id uuid NOT NULL,
          type text NOT NULL,
          at timestamptz NOT NULL,
          line text NOT NULL,
          UNIQUE (stream, seq)
        );
        CREATE TABLE IF NOT EXISTS ${this.t.head} (
          one boolean PRIMARY KEY DEFAULT true CHECK (one),
          pos bigint NOT NULL
        );
        COMMENT ON TABLE ${this.t.events} IS 'bmo event log: one row per event, line is the stored envelope byte for byte (query it with line::jsonb)';
        COMMENT ON TABLE ${this.t.head} IS 'bmo: the last position handed out; appends lock this row until they commit';
      `);
      await client.query(`INSERT INTO ${this.t.head} (one, pos) VALUES (true, coalesce((SELECT max(pos) FROM ${this.t.events}), 0)) ON CONFLICT DO NOTHING`);
      const { rows } = await client.query<{ head: string; max: string | null }>(`SELECT (SELECT pos FROM ${this.t.head}) AS head, (SELECT max(pos) FROM ${this.t.events}) AS max`);
      const head = Number(rows[0].head);
      const max = Number(rows[0].max ?? 0);
      if (head < max) throw new CorruptLogError(`postgres ${this.where} ${this.t.head}`, 0, `head is at pos ${head} but the events table goes to ${max}; set it with UPDATE ${this.t.head} SET pos = ${max}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** Every stored event through `onEvent`, in pos order, before the store takes appends. */
  private async replay(options: OpenOptions): Promise<void> {
    const pool = this.requirePool();
    const { rows: headRows } = await pool.query<{ pos: string }>(`SELECT pos FROM ${this.t.head}`);
    // Replay runs in pos order, not stream by stream: the percent is of the events there were at the start.
    const progress: ReplayProgress = { events: 0, bytesDone: 0, done: 0, total: Number(headRows[0]?.pos ?? 0), counting: 'events' };
    let lastReport = Date.now();
    for (;;) {
      const { rows } = await pool.query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.t.events} WHERE pos > $1 ORDER BY pos LIMIT ${REPLAY_PAGE}`, [this.deliveredPos]);
      for (const row of rows) {
        const pos = Number(row.pos);
        if (pos !== this.deliveredPos + 1) throw this.corruptRow(pos, `pos ${this.deliveredPos + 1} is missing (the next row is pos ${pos})`);
        const event = this.decodeRow(pos, row.line);
        const state = this.streamState(event.envelope.stream);
        if (event.envelope.seq !== state.committed + 1) throw this.corruptRow(pos, `seq ${event.envelope.seq} of ${event.envelope.stream} where ${state.committed + 1} was due`);
        state.committed = state.assigned = event.envelope.seq;
        this.recent.push(event);
        this.deliveredPos = pos;
        options.onEvent?.(event.envelope);
        progress.events++;
        progress.done = Math.min(progress.events, progress.total);
        progress.bytesDone += event.line.length;
      }
      if (options.onProgress && Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        options.onProgress({ ...progress });
      }
      if (rows.length < REPLAY_PAGE) break;
    }
    options.onProgress?.({ ...progress, done: progress.total });
  }

  private async shutdownAfterFlush(): Promise<void> {
    this.state = 'closing';
    if (this.flushing) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([this.flushing.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.closeTimeoutMs)))]);
      clearTimeout(timer);
      if (timedOut) {
        const refusal = new BmoError('store_unavailable', `the store closed before PostgreSQL at ${this.where} confirmed these appends; they may or may not have been written`);
        for (const append of [...this.awaiting, ...this.pending]) append.reject(refusal);
        this.awaiting = [];
        this.pending = [];
      }
    }
    this.state = 'closed';
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    for (const w of this.catchingUp.splice(0)) w.resolve();
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    await this.pumping?.catch(() => {});
    const listener = this.listenClient;
    this.listenClient = undefined;
    await listener?.end().catch(() => {});
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => {});
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new BmoError('store_unavailable', 'the store is not open');
    return this.pool;
  }

  /** The events table holds something no append writes, at `pos`. */
  private corruptRow(pos: number, reason: string): CorruptLogError {
    return new CorruptLogError(`postgres ${this.where} ${this.t.events}`, pos, reason);
  }

  private decodeRow(pos: number, text: string): StoredEvent {
    const line = Buffer.from(text, 'utf8');
    const end = line[line.length - 1] === 0x0a ? line.length - 1 : line.length;
    const decoded = decodeLine(line, 0, end);
    if (!decoded.ok) throw this.corruptRow(pos, `the stored line no longer reads: ${decoded.reason}`);
    if (decoded.envelope.pos !== pos) throw this.corruptRow(pos, `the row holds the line of pos ${decoded.envelope.pos}`);
    return { envelope: decoded.envelope, line: end === line.length ? Buffer.concat([line, NEWLINE]) : line };
  }
}

const NEWLINE = Buffer.from('\n');

/** `host:port/database` of a PostgreSQL url, never its password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'the configured [store] url';
  }
}
