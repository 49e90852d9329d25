import type { DomainEvent, Envelope, Meta, StreamName } from '../../events/index.js';

/** A PostgreSQL schema name the store accepts: lower case, unquoted, at most 63 bytes. */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Named sentinels for optimistic concurrency, checked at the append and nowhere else. */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  meta?: Meta;
  /** The event time; it comes in with the command so that deciders stay pure. */
  at?: Date;
  /** The events' ids, when they have them already (an import); otherwise new UUIDs. */
  ids?: string[];
  /**
   * The append is the one write of this Idempotency-Key: a store shared by several instances
   * refuses it with IdempotencyKeyTakenError, nothing written, when another write took the key.
   */
  claimKey?: string;
  /** The events come from bmo's own deciders: their data is not parsed again (checks.ts). */
  decided?: boolean;
}

/** What a store reports of its writes, for metrics; it must not throw or block. */
export interface StoreObserver {
  /** One sync of the log (fdatasync, or a commit) that made `events` events durable, after `seconds`. */
  synced(events: number, seconds: number): void;
  /** One append acknowledged, `seconds` after it was made. */
  acknowledged(seconds: number): void;
}

/** A committed event and its exact stored bytes (with the trailing newline). */
export interface StoredEvent {
  envelope: Envelope;
  line: Buffer;
}

/** Which streams a reader wants: `*`, `teams/*`, `teams/<id>`. */
export type StreamFilter = (stream: string) => boolean;

export interface ReplayProgress {
  events: number;
  bytesDone: number;
  /** How far the replay is, of `total`: logs (the jsonl store replays log by log) or events (PostgreSQL, in pos order). */
  done: number;
  total: number;
  counting: 'logs' | 'events';
}

export interface OpenOptions {
  /** Called once per stored event on startup, in order within a stream; streams come in any order. */
  onEvent?: (envelope: Envelope) => void;
  onProgress?: (progress: ReplayProgress) => void;
  /**
   * For a large store: part of the logs is replayed on worker threads, each folding its streams
   * with `createReplayFold()` from `module` instead of calling `onEvent`; `merge` gets each fold's
   * result once this thread's share went through `onEvent`. A stream is never split.
   */
  parallel?: ParallelReplay;
  /**
   * Called once the store can be read, before any event: what `checkpoint()` gave when the snapshot
   * to start from was taken. Only events after it are replayed (through `onEvent`). A checkpoint
   * the store cannot use (the log is shorter than it says) goes to `onCheckpointRefused` with the
   * reason, before any event, and everything is replayed.
   */
  startFrom?: () => Promise<StoreCheckpoint | undefined>;
  onCheckpointRefused?: (reason: string) => void;
}

/** A store's own state at a snapshot's pos, as JSON: what lets it skip reading what the snapshot covers. */
export interface StoreCheckpoint {
  backend: string;
  pos: number;
}

export interface ParallelReplay {
  /** The URL of a module that exports `createReplayFold(): ReplayFold`. */
  module: string;
  merge: (result: unknown) => void;
  /** Worker threads besides this one; 0 replays everything here. */
  workers: number;
  /** Fewer streams than this are replayed here alone: a worker costs more than it saves. */
  minStreams: number;
}

/** What a replay worker runs over its events; `result` goes back by structured clone. */
export interface ReplayFold {
  apply(envelope: Envelope): void;
  result(): unknown;
}

/**
 * The narrow port every backend implements. `append` resolves only after the events are durable;
 * readers only ever see committed events.
 */
export interface EventStore {
  open(options?: OpenOptions): Promise<void>;
  /**
   * Throws at once, with nothing written, when an event does not parse or the expected version
   * does not match; the promise resolves when the events are durable, in pos order.
   */
  append(stream: StreamName, events: DomainEvent[], options?: AppendOptions): Promise<Envelope[]>;
  /** Committed events of one stream from `fromSeq` on. */
  readStream(stream: StreamName, fromSeq?: number): AsyncIterable<StoredEvent>;
  /**
   * The same events' stored lines, at most `limit`, as chunks of whole lines (each line the
   * envelope's JSON and a newline), each line checked by its CRC but not parsed: what an answer
   * that sends a log as stored reads, at little cost to the event loop. Reads are bounded (a chunk
   * or a page of rows at a time) and turn the event loop between them.
   */
  readLines(stream: StreamName, fromSeq?: number, limit?: number): AsyncIterable<Buffer>;
  /**
   * Committed events with `pos > fromPos` that pass the filter, in pos order, at most `limit`;
   * `next` is the position read up to, where the following call resumes.
   */
  readAll(fromPos: number, options?: { filter?: StreamFilter; limit?: number }): Promise<{ events: StoredEvent[]; next: number }>;
  /** The version the next append to this stream expects (0 for a stream never written). */
  version(stream: StreamName): number;
  /** This process among the instances that may share the store: the owner an operation it starts records. */
  readonly instanceId: string;
  /** Whether the instance `id` no longer runs, so that another may finish what it left part way. */
  instanceGone(id: string): Promise<boolean>;
  /** The highest committed position. */
  head(): number;
  /** The store's state at `head()`, for a snapshot taken in the same turn; absent where a store cannot start from one. */
  checkpoint?(): StoreCheckpoint;
  /** Called after each commit with its events in pos order, before any append of it resolves. */
  onCommit(listener: (batch: StoredEvent[]) => void): () => void;
  /**
   * A store shared by several instances: resolves once what other instances committed so far is
   * delivered here. Absent where this process is the only writer (its state is always current).
   */
  catchUp?(): Promise<void>;
  /** Why the store refuses writes (the jsonl store on a full disk at startup), or undefined. */
  readOnlyReason?(): string | undefined;
  close(): Promise<void>;
}
