import type pg from 'pg';
import { pgDriver } from './pg-driver.js';
import type { Logger } from 'pino';
import type { CommitListeners } from './listeners.js';
import type { RowDecoder, Tables } from './postgres-schema.js';
import type { RecentEvents } from './recent.js';
import type { OpenOptions, ReplayProgress, StoreCheckpoint, StoredEvent } from './types.js';

/** Rows per query when following the log. */
export const PAGE = 1000;
const REPLAY_PAGE = 10_000;
/** How long `catchUp` waits for delivery before it lets the caller go on with what it has. */
const CATCH_UP_MS = 2000;

export type StoreState = 'new' | 'opening' | 'open' | 'closing' | 'closed';

export interface StreamState {
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

/** What this instance knows of each stream's version; the writer and the follower both move it. */
export class StreamStates {
  private readonly states = new Map<string, StreamState>();

  has(stream: string): boolean {
    return this.states.has(stream);
  }

  get(stream: string): StreamState {
    let state = this.states.get(stream);
    if (!state) {
      state = { assigned: 0, committed: 0, epoch: 0 };
      this.states.set(stream, state);
    }
    return state;
  }
}

export interface FollowerDeps {
  url: string;
  role: string;
  logger: Logger;
  pollIntervalMs: number;
  t: Tables;
  rows: RowDecoder;
  pool: () => pg.Pool;
  streams: StreamStates;
  recent: RecentEvents;
  listeners: CommitListeners;
  state: () => StoreState;
}

/**
 * Delivers every committed event (this instance's and the others') to the listeners exactly once,
 * in pos order: its own commits from memory when they are next, anything else by reading
 * `pos > delivered` when woken by NOTIFY, and on a timer in case a notification is lost.
 */
export class PostgresFollower {
  private deliveredPos = 0;
  /** This instance's committed events not yet delivered, by pos: delivered from memory when next. */
  private readonly ownCommitted = new Map<number, StoredEvent>();
  /** Own commits waiting for delivery up to their last pos, in pos order. */
  private awaiting: { lastPos: number; delivered: () => void }[] = [];
  /** `catchUp` calls waiting for delivery to reach a position. */
  private catchingUp: { pos: number; resolve: () => void }[] = [];
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private gapSince = 0;
  private listenClient: pg.Client | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: FollowerDeps) {}

  /** The highest pos delivered to the listeners. */
  head(): number {
    return this.deliveredPos;
  }

  startPolling(): void {
    this.pollTimer = setInterval(() => this.pump(), this.d.pollIntervalMs);
    this.pollTimer.unref();
    this.pump();
  }

  /**
   * Resolves once everything committed in the database when it was called is delivered here (at
   * most `CATCH_UP_MS` later: a missing position holds delivery up).
   */
  async catchUp(): Promise<void> {
    const { rows } = await this.d.pool().query<{ pos: string }>(`SELECT pos FROM ${this.d.t.head}`);
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

  /** This instance committed `stored`: `delivered` is called once every position up to `lastPos` is delivered. */
  awaitOwn(stored: StoredEvent[], lastPos: number, delivered: () => void): void {
    if (lastPos <= this.deliveredPos) return delivered(); // the log was read past it already
    for (const event of stored) if (event.envelope.pos > this.deliveredPos) this.ownCommitted.set(event.envelope.pos, event);
    this.awaiting.push({ lastPos, delivered });
  }

  /** After a commit: delivers own events that are next, and reads what another instance committed before them. */
  afterCommit(readAnyway: boolean): void {
    this.deliverOwn();
    if (this.awaiting.length > 0 || readAnyway) this.pump();
  }

  /** Reads and delivers whatever is committed past the delivered position; calls made while it runs make it go round again. */
  pump(): void {
    const state = this.d.state();
    if (state !== 'open' && state !== 'closing') return;
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

  /** Every stored event through `onEvent`, in pos order, before the store takes appends. */
  async replay(options: OpenOptions): Promise<void> {
    const pool = this.d.pool();
    const { rows: headRows } = await pool.query<{ pos: string }>(`SELECT pos FROM ${this.d.t.head}`);
    // Replay runs in pos order, not stream by stream: the percent is of the events there were at the start.
    const progress: ReplayProgress = { events: 0, bytesDone: 0, done: 0, total: Number(headRows[0]?.pos ?? 0), counting: 'events' };
    const checkpoint = await options.startFrom?.();
    if (checkpoint) await this.startAt(checkpoint, Number(headRows[0]?.pos ?? 0), options);
    let lastReport = Date.now();
    for (;;) {
      const { rows } = await pool.query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.d.t.events} WHERE pos > $1 ORDER BY pos LIMIT ${REPLAY_PAGE}`, [this.deliveredPos]);
      for (const row of rows) {
        const event = this.replayed(Number(row.pos), row.line);
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

  async listen(): Promise<void> {
    const client = new (await pgDriver()).Client({ connectionString: this.d.url, application_name: `bmo (${this.d.role}) listener` });
    const lost = (error?: Error) => {
      if (this.listenClient !== client) return;
      this.listenClient = undefined;
      client.end().catch(() => {});
      const state = this.d.state();
      if (state !== 'open' && state !== 'opening') return;
      this.d.logger.warn({ err: error }, 'the LISTEN connection to PostgreSQL was lost; polling until it is back');
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
      await client.query(`LISTEN "${this.d.t.channel}"`);
    } catch (error) {
      this.listenClient = undefined;
      await client.end().catch(() => {});
      throw error;
    }
  }

  /** Stops following: timers, the read in flight, the LISTEN connection; catchUp waiters go on. */
  async stop(): Promise<void> {
    for (const w of this.catchingUp.splice(0)) w.resolve();
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    await this.pumping?.catch(() => {});
    const listener = this.listenClient;
    this.listenClient = undefined;
    await listener?.end().catch(() => {});
  }

  /**
   * Starts the replay after a snapshot's pos: every stream's version up to it comes from one
   * query instead of reading its events. A pos beyond the table's is refused (replayed in full).
   */
  private async startAt({ backend, pos }: StoreCheckpoint, head: number, options: OpenOptions): Promise<void> {
    if (backend !== 'postgres') return options.onCheckpointRefused?.(`it was taken of a ${backend} store`);
    if (pos > head) return options.onCheckpointRefused?.(`the snapshot covers pos ${pos} but the events table ends at ${head}: its pos is beyond the log`);
    const { rows } = await this.d.pool().query<{ stream: string; seq: string }>(`SELECT stream, max(seq) AS seq FROM ${this.d.t.events} WHERE pos <= $1 GROUP BY stream`, [pos]);
    for (const row of rows) {
      const state = this.d.streams.get(row.stream);
      state.committed = state.assigned = Number(row.seq);
    }
    this.deliveredPos = pos;
  }

  /** One replayed row, checked to continue pos and its stream's seq without a gap. */
  private replayed(pos: number, line: string): StoredEvent {
    if (pos !== this.deliveredPos + 1) throw this.d.rows.corrupt(pos, `pos ${this.deliveredPos + 1} is missing (the next row is pos ${pos})`);
    const event = this.d.rows.decode(pos, line);
    const state = this.d.streams.get(event.envelope.stream);
    if (event.envelope.seq !== state.committed + 1) throw this.d.rows.corrupt(pos, `seq ${event.envelope.seq} of ${event.envelope.stream} where ${state.committed + 1} was due`);
    state.committed = state.assigned = event.envelope.seq;
    this.d.recent.push(event);
    this.deliveredPos = pos;
    return event;
  }

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
      this.d.recent.push(event);
      this.deliveredPos = pos;
      const state = this.d.streams.get(stream);
      if (seq > state.committed) state.committed = seq;
      if (seq > state.assigned) state.assigned = seq;
    }
    this.d.listeners.emit(batch);
    if (this.catchingUp.length > 0) {
      const waiting = this.catchingUp;
      this.catchingUp = waiting.filter((w) => w.pos > this.deliveredPos);
      for (const w of waiting) if (w.pos <= this.deliveredPos) w.resolve();
    }
    let resolved = 0;
    while (resolved < this.awaiting.length && this.awaiting[resolved].lastPos <= this.deliveredPos) resolved++;
    for (const waiter of this.awaiting.splice(0, resolved)) waiter.delivered();
  }

  private async pumpLoop(): Promise<void> {
    try {
      for (;;) {
        this.pumpAgain = false;
        this.deliverOwn();
        const { rows } = await this.d.pool().query<{ pos: string; line: string }>(`SELECT pos, line FROM ${this.d.t.events} WHERE pos > $1 ORDER BY pos LIMIT ${PAGE}`, [this.deliveredPos]);
        const gap = this.deliverRows(rows);
        if (gap) {
          // Commit order makes this impossible unless rows were deleted: say so, and look again later.
          if (this.gapSince === 0) this.gapSince = Date.now();
          else if (Date.now() - this.gapSince > 5000) this.d.logger.error({ missing_pos: this.deliveredPos + 1, schema: this.d.t.schema }, 'a position is missing from the events table; delivery waits for it');
          return;
        }
        this.gapSince = 0;
        if (rows.length < PAGE) {
          this.deliverOwn();
          return;
        }
      }
    } catch (error) {
      const state = this.d.state();
      if (state !== 'open' && state !== 'closing') return;
      this.d.logger.warn({ err: error }, 'reading new events from PostgreSQL failed; retrying');
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, Math.min(this.d.pollIntervalMs, 1000));
      this.retryTimer.unref();
    }
  }

  /** Delivers the rows that continue the delivered positions; true when a position is missing. */
  private deliverRows(rows: { pos: string; line: string }[]): boolean {
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
      batch.push(this.ownCommitted.get(pos) ?? this.d.rows.decode(pos, row.line));
    }
    if (batch.length > 0) this.deliver(batch);
    return gap;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      const state = this.d.state();
      if (state === 'opening') return this.scheduleReconnect();
      if (state !== 'open') return;
      this.listen().then(
        () => this.pump(),
        (error) => {
          this.d.logger.warn({ err: error }, 'could not LISTEN again; retrying');
          this.scheduleReconnect();
        },
      );
    }, 1000);
    this.reconnectTimer.unref();
  }
}
