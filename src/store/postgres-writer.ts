import pg, { type PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { DomainEvent, Envelope, Meta, StreamName } from '../../events/index.js';
import { BmoError, IdempotencyKeyTakenError, VersionConflictError } from '../errors.js';
import { versionMatches } from './checks.js';
import { encodeLine } from './line.js';
import type { PostgresFollower, StreamStates } from './postgres-follower.js';
import type { Tables } from './postgres-schema.js';
import type { ExpectedVersion, StoredEvent } from './types.js';

/** At most this many events go into one transaction; the rest wait for the next. */
const MAX_BATCH_EVENTS = 5000;

export interface PendingAppend {
  stream: StreamName;
  events: DomainEvent[];
  expected: ExpectedVersion;
  epoch: number;
  at: string;
  meta: Meta;
  ids: string[];
  claimKey?: string;
  /** Built inside the transaction, once pos and seq are known. */
  stored: StoredEvent[];
  lastPos: number;
  resolve: (envelopes: Envelope[]) => void;
  reject: (error: unknown) => void;
}

/** Refused at commit: its expected version did not hold (`actual`), or its key was taken. */
type Refused = { append: PendingAppend; actual: number; keyTaken?: boolean };

export interface WriterDeps {
  logger: Logger;
  where: string;
  t: Tables;
  pool: () => pg.Pool;
  streams: StreamStates;
  follower: PostgresFollower;
}

/** The Idempotency-Keys one transaction records: the claimed ones must be new, the others (an import) extend their row. */
class KeyRows {
  key: string[] = [];
  stream: string[] = [];
  first: number[] = [];
  last: number[] = [];
  hash: string[] = [];
  claimed: boolean[] = [];

  add(append: PendingAppend): void {
    const key = append.meta.idempotency_key;
    if (!key) return;
    this.key.push(key);
    this.stream.push(append.stream);
    this.first.push(append.stored[0].envelope.seq);
    this.last.push(append.stored[append.stored.length - 1].envelope.seq);
    this.hash.push(append.meta.request_hash ?? '');
    this.claimed.push(append.claimKey !== undefined);
  }
}

/** The columns of the rows one transaction inserts. */
class Rows {
  pos: number[] = [];
  stream: string[] = [];
  seq: number[] = [];
  id: string[] = [];
  type: string[] = [];
  at: string[] = [];
  line: string[] = [];
}

/**
 * Groups this instance's concurrent appends into one transaction: every append transaction first
 * locks the single `head` row and takes its positions from it, so transactions that write events
 * are serialised and a later pos is never visible before an earlier one. Expected versions are
 * checked against the table under the lock (a conflict with another instance is a
 * VersionConflictError for that append only), and the others are notified on commit.
 */
export class PostgresWriter {
  /** Appends accepted here and not yet in a transaction, in the order they were made. */
  private pending: PendingAppend[] = [];
  /** Committed appends waiting for delivery up to their last pos. */
  private readonly awaiting = new Set<PendingAppend>();
  private writing = false;
  /** The head as this instance last saw it move (undefined: not known, or unknown after a failure). */
  private knownHead: number | undefined;
  private writeScheduled = false;
  private flushing: Promise<void> | undefined;
  private flushed: (() => void) | undefined;

  constructor(private readonly d: WriterDeps) {}

  enqueue(append: PendingAppend): void {
    this.pending.push(append);
    this.scheduleWrite();
  }

  /** Settles once every append made so far is acknowledged or refused (at once when none is in flight). */
  inFlight(): Promise<void> | undefined {
    return this.flushing;
  }

  /** Every append not yet acknowledged is refused with `refusal`. */
  refuseAll(refusal: Error): void {
    for (const append of [...this.awaiting, ...this.pending]) append.reject(refusal);
    this.awaiting.clear();
    this.pending = [];
  }

  /** The appends of one turn of the event loop go into one transaction, on the next turn. */
  private scheduleWrite(): void {
    this.flushing ??= new Promise((done) => (this.flushed = done));
    if (this.writeScheduled || this.writing) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.writeLoop().catch((error) => this.d.logger.error({ err: error }, 'the append loop failed'));
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

  /**
   * Writes one group of appends in one transaction; never throws: every append is resolved, queued
   * for delivery or refused. First in one round trip, placed on what this instance knows of the
   * head and the streams; when that turns out stale (another instance wrote), under the head lock
   * on what the table holds.
   */
  private async commitBatch(batch: PendingAppend[]): Promise<void> {
    if ((await this.commitKnown(batch)) === 'stale') await this.commitLocked(batch);
  }

  /**
   * One call of the append function, outside a transaction: PostgreSQL commits it before it
   * answers. Nothing was written when the server refused the call before it answered a row; once a
   * row came, or the connection broke, the outcome is unknown.
   */
  private async commitKnown(batch: PendingAppend[]): Promise<'done' | 'stale'> {
    if (this.knownHead === undefined) return 'stale';
    const head = Math.max(this.knownHead, this.d.follower.head()); // what another instance wrote and this one read
    const current = new Map<string, number>();
    for (const append of batch) current.set(append.stream, this.d.streams.get(append.stream).committed);
    const cols = new Rows();
    const outcome = this.place(batch, new Map(current), new Set(), head, cols);
    if (outcome.accepted.length === 0) return 'stale'; // a refusal is only given on what the table holds
    let client: PoolClient;
    try {
      client = await this.d.pool().connect();
    } catch (error) {
      this.refuseBatch(batch, error, false);
      return 'done';
    }
    const answered = { row: false };
    try {
      const written = await this.callAppend(client, head, current, cols, outcome.accepted, answered);
      client.release();
      if (!written) return 'stale';
    } catch (error) {
      client.release(error as Error);
      this.failed(batch, error, answered.row || !(error instanceof pg.DatabaseError));
      return 'done';
    }
    this.knownHead = cols.pos[cols.pos.length - 1];
    this.committed(outcome.accepted, outcome.refused);
    return 'done';
  }

  /** The transaction of `commitKnown` spelt out: the head lock first, then what the table holds. */
  private async commitLocked(batch: PendingAppend[]): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.d.pool().connect();
    } catch (error) {
      this.refuseBatch(batch, error, false);
      return;
    }
    let committing = false;
    let outcome: { accepted: PendingAppend[]; refused: Refused[] };
    let head: number;
    try {
      // The row lock on head is held until COMMIT: every writer of the schema waits here, so positions follow commit order.
      const results = (await client.query(`BEGIN; SELECT pos FROM ${this.d.t.head} FOR UPDATE`)) as unknown as pg.QueryResult<{ pos: string }>[];
      const headRow = results[1].rows[0];
      if (!headRow) throw new Error(`${this.d.t.head} has no row`);
      head = Number(headRow.pos);
      const { rows } = await client.query<{ stream: string; seq: string }>(
        `SELECT s.stream, coalesce((SELECT e.seq FROM ${this.d.t.events} e WHERE e.stream = s.stream ORDER BY e.seq DESC LIMIT 1), 0) AS seq FROM unnest($1::text[]) AS s(stream)`,
        [[...new Set(batch.map((a) => a.stream))]],
      );
      const current = new Map(rows.map((r) => [r.stream, Number(r.seq)]));
      const taken = await this.takenKeys(client, batch);
      const cols = new Rows();
      outcome = this.place(batch, new Map(current), taken, head, cols);
      if (outcome.accepted.length > 0) {
        if (!(await this.callAppend(client, head, current, cols, outcome.accepted))) throw new Error('the append function found the head or a stream moved under the head lock');
        head = cols.pos[cols.pos.length - 1];
        committing = true;
        await client.query('COMMIT');
      } else {
        await client.query('ROLLBACK');
      }
      client.release();
    } catch (error) {
      client.release(error as Error);
      this.failed(batch, error, committing);
      return;
    }
    this.knownHead = head;
    this.committed(outcome.accepted, outcome.refused);
  }

  /** The claimed keys of `batch` some write holds already: under the head lock, no other transaction can take one meanwhile. */
  private async takenKeys(client: PoolClient, batch: PendingAppend[]): Promise<Set<string>> {
    const claimed = batch.flatMap((a) => (a.claimKey === undefined ? [] : [a.claimKey]));
    if (claimed.length === 0) return new Set();
    const { rows } = await client.query<{ key: string }>(`SELECT key FROM ${this.d.t.keys} WHERE key = ANY($1::text[])`, [claimed]);
    return new Set(rows.map((r) => r.key));
  }

  /** Gives each append whose expected version holds and whose key is free its positions and seqs, into `cols`; the others are refused. */
  private place(batch: PendingAppend[], current: Map<string, number>, taken: Set<string>, head: number, cols: Rows): { accepted: PendingAppend[]; refused: Refused[] } {
    let pos = head;
    const refused: Refused[] = [];
    const refusedStreams = new Set<string>();
    const accepted: PendingAppend[] = [];
    for (const append of batch) {
      const version = current.get(append.stream) ?? 0;
      if (append.claimKey !== undefined) {
        if (taken.has(append.claimKey)) {
          refused.push({ append, actual: version, keyTaken: true });
          continue;
        }
        taken.add(append.claimKey); // a second append with the key in this batch is refused too
      }
      const stale = append.expected !== 'any' && (refusedStreams.has(append.stream) || append.epoch !== this.d.streams.get(append.stream).epoch);
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
    return { accepted, refused };
  }

  /**
   * Calls the append function (`postgres-schema.ts`) for `cols`, placed on `head` and the streams'
   * seqs in `placedOn`: false when they no longer hold (nothing written). `answered.row` turns true
   * once its answer arrives.
   */
  private async callAppend(client: PoolClient, head: number, placedOn: Map<string, number>, cols: Rows, accepted: PendingAppend[], answered = { row: false }): Promise<boolean> {
    const keys = new KeyRows();
    for (const append of accepted) keys.add(append);
    const config = {
      name: `bmo append ${this.d.t.append}`,
      text: `SELECT ${this.d.t.append}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) AS written`,
      values: [head, [...placedOn.keys()], [...placedOn.values()], keys.key, keys.stream, keys.first, keys.last, keys.hash, keys.claimed,
        cols.pos, cols.stream, cols.seq, cols.id, cols.type, cols.at, cols.line, this.d.t.channel],
    };
    const result = await new Promise<pg.QueryResult<{ written: boolean }>>((resolve, reject) => {
      const query = new pg.Query<{ written: boolean }>(config, undefined, (error, answer) => (error ? reject(error) : resolve(answer)));
      query.on('row', () => (answered.row = true));
      client.query(query);
    });
    return result.rows[0]?.written === true;
  }

  /** A failed transaction: what the error says of it decides how its appends are refused. */
  private failed(batch: PendingAppend[], error: unknown, duringCommit: boolean): void {
    this.knownHead = undefined;
    if (!duringCommit && (error as { code?: string }).code === '23505') return this.refuseTaken(batch, error);
    this.refuseBatch(batch, error, duringCommit);
  }

  /** Only a writer that skips the head lock gets a taken (stream, seq): a conflict for the caller, nothing of the batch was written. */
  private refuseTaken(batch: PendingAppend[], error: unknown): void {
    this.d.logger.warn({ err: error }, 'a (stream, seq) was taken by a writer that did not lock the head row; the batch is refused');
    for (const append of batch) append.reject(new VersionConflictError(append.stream, append.expected, this.d.streams.get(append.stream).committed));
    for (const stream of new Set(batch.map((a) => a.stream))) this.resetStream(stream);
    this.d.follower.pump();
  }

  private committed(accepted: PendingAppend[], refused: Refused[]): void {
    for (const { append, actual, keyTaken } of refused) append.reject(keyTaken ? new IdempotencyKeyTakenError(append.claimKey!) : new VersionConflictError(append.stream, append.expected, actual));
    for (const append of accepted) {
      const state = this.d.streams.get(append.stream);
      const last = append.stored[append.stored.length - 1].envelope.seq;
      if (last > state.committed) state.committed = last;
      if (last > state.assigned) state.assigned = last; // an 'any' append placed after another instance's events
      this.awaiting.add(append);
      this.d.follower.awaitOwn(append.stored, append.lastPos, () => {
        this.awaiting.delete(append);
        append.resolve(append.stored.map((e) => e.envelope));
        this.maybeSettle();
      });
    }
    for (const stream of new Set(refused.map((r) => r.append.stream))) this.resetStream(stream);
    // Another instance committed before us (or moved a refused stream): read what it wrote.
    this.d.follower.afterCommit(refused.length > 0);
  }

  /** A failed transaction: nothing of it is acknowledged; the store keeps serving and the next append tries again. */
  private refuseBatch(batch: PendingAppend[], error: unknown, duringCommit: boolean): void {
    const reason = (error as Error).message;
    const refusal = duringCommit
      ? new BmoError('store_unavailable', `the connection to PostgreSQL at ${this.d.where} failed during COMMIT (${reason}): the write may or may not have been made; retry with the same Idempotency-Key`, { cause: error })
      : new BmoError('store_unavailable', `PostgreSQL at ${this.d.where} refused the write (${reason}); nothing was written, retry`, { cause: error });
    this.d.logger.error({ err: error, appends: batch.length, during_commit: duringCommit }, 'an append transaction failed; its appends are refused');
    for (const append of batch) append.reject(refusal);
    for (const stream of new Set(batch.map((a) => a.stream))) this.resetStream(stream);
    if (duringCommit) this.d.follower.pump();
  }

  /**
   * After a refusal the stream's local version goes back to what is committed and delivered here,
   * plus the appends still queued that take any version; the others queued are refused at commit.
   */
  private resetStream(stream: string): void {
    const state = this.d.streams.get(stream);
    state.epoch++;
    let version = state.committed;
    for (const append of this.pending) if (append.stream === stream && append.expected === 'any') version += append.events.length;
    state.assigned = version;
  }

  private maybeSettle(): void {
    if (this.writing || this.writeScheduled || this.pending.length > 0 || this.awaiting.size > 0) return;
    const done = this.flushed;
    this.flushing = undefined;
    this.flushed = undefined;
    done?.();
  }
}
