import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { streamKind, streamRef, type Envelope, type Meta, type StreamName } from '../../events/index.js';
import type { Entity } from '../domain/entity.js';
import { systemClock, type Clock } from '../clock.js';
import { BmoError, IdempotencyKeyTakenError, VersionConflictError } from '../errors.js';
import { isoOf, type EventStore, type StoredEvent } from '../store/index.js';
import { evolveTeam, type TeamView } from '../../projections/team.js';
import { evolveWorkstream, type WorkstreamView } from '../../projections/workstream.js';
import { ModelsAsOf } from './as-of.js';
import { DetailCache } from './details.js';
import { Snapshotter, type SnapshotOptions } from './snapshotter.js';
import { Hub } from './hub.js';
import { ReadModels, type ReadModelsPart } from './read-models.js';

/** The fold replay workers run: the read models (`replay-fold.ts`). */
const REPLAY_FOLD = new URL('./replay-fold.js', import.meta.url).href;

/**
 * The stored line of each envelope the pipeline committed or read back: the line is the envelope's
 * JSON, byte for byte, so an answer can carry those bytes instead of serialising the envelope again.
 */
const storedLines = new WeakMap<Envelope, Buffer>();

/** The log line (with its `\n`) an envelope was stored as, when the pipeline saw it committed or read it. */
export function storedLineOf(envelope: Envelope): Buffer | undefined {
  return storedLines.get(envelope);
}

export interface CommandContext {
  invocationId?: string;
  /** The credential that asked (`admin` for the configured token): `meta.actor`. */
  actor?: string;
  sessionId?: string;
  idempotencyKey?: string;
  requestHash?: string;
  /** `If-Match`: the version the caller last read. */
  expectedVersion?: number;
  /** The operation over several streams this command is part of: `meta.operation_id`. */
  operationId?: string;
}

/** How often a command with no expected version is decided again after another instance moved its stream. */
const MAX_ATTEMPTS = 3;
/** On a store shared by several instances, where a busy stream may be moved again while a command catches up. */
const MAX_SHARED_ATTEMPTS = 20;
/** How often a write model is read again on a shared store when its stream moved while it was read. */
const MAX_LOADS = 3;

interface WriteModel {
  state: unknown;
  version: number;
  /** Appends decided on this model and not yet durable: it must stay while any is in flight. */
  inFlight: number;
}

export interface PipelineOptions {
  store: EventStore;
  logger: Logger;
  /** The time commands are decided at and the timers run on (default: the system clock). */
  clock?: Clock;
  /** Write models kept past this many are dropped, least recently used first, once none of their appends is in flight. */
  maxWriteModels?: number;
  /** Threads besides this one that replay the logs on startup (default: one fewer than the cores, at most 3). */
  replayWorkers?: number;
  /** Stores with fewer streams are replayed on this thread alone (default 1000). */
  replayMinStreams?: number;
  /** Projection snapshots to start from and to write (none: every start replays the whole log). */
  snapshots?: SnapshotOptions;
  /**
   * The store parses the deciders' events against the catalogue again, as it does an import's
   * (default: when BMO_CHECK_DECIDED=1, as the test runner sets it; off the hot path otherwise).
   */
  checkDecided?: boolean;
}

/**
 * The one place a command's steps are chained: load → decide → append → apply → publish.
 * Deciders see every event already assigned to their stream (also those still syncing), so
 * concurrent commands on one stream share a group commit; readers see committed events only.
 */
export class Pipeline {
  readonly store: EventStore;
  readonly readModels = new ReadModels();
  readonly hub = new Hub();
  /** Team details (texts included), folded from a team's log on demand; the read models keep teams lean. */
  readonly teamDetails: DetailCache<TeamView>;
  readonly workstreamDetails: DetailCache<WorkstreamView>;
  /** Every read model as it was at a past point (posture and handoff as of a pos). */
  readonly modelsAsOf: ModelsAsOf;
  private readonly logger: Logger;
  readonly clock: Clock;
  private readonly maxWriteModels: number;
  private readonly decided: boolean;
  private readonly replay: { workers: number; minStreams: number };
  private readonly writeModels = new Map<string, WriteModel | Promise<WriteModel>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly operationsInFlight = new Map<string, Promise<unknown>>();
  readonly snapshots: Snapshotter | undefined;

  constructor(options: PipelineOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.maxWriteModels = options.maxWriteModels ?? 4096;
    this.decided = !(options.checkDecided ?? process.env.BMO_CHECK_DECIDED === '1');
    this.replay = { workers: options.replayWorkers ?? Math.min(availableParallelism() - 1, 3), minStreams: options.replayMinStreams ?? 1000 };
    this.teamDetails = new DetailCache<TeamView>(this.store, (team, event) => evolveTeam(team, event), (stream) => this.readModels.teams.get(streamRef(stream).id)?.version ?? 0);
    this.workstreamDetails = new DetailCache<WorkstreamView>(
      this.store,
      (ws, event) => evolveWorkstream(ws, event),
      (stream) => this.readModels.workstreams.get(streamRef(stream).id)?.version ?? 0,
    );
    this.modelsAsOf = new ModelsAsOf(this.store);
    this.snapshots = options.snapshots && new Snapshotter(options.snapshots, this.readModels, this.store, this.logger, () => this.now());
    this.store.onCommit((batch) => this.applyCommitted(batch));
  }

  /** Opens the store and folds every stored event into the read models, logging progress. */
  async start(): Promise<void> {
    const started = Date.now();
    const snapshots = this.snapshots;
    await this.store.open({
      startFrom: snapshots && (() => snapshots.startFrom()),
      onCheckpointRefused: snapshots && ((reason) => snapshots.refused(reason)),
      onEvent: (event) => this.readModels.apply(event),
      parallel: { module: REPLAY_FOLD, merge: (part) => this.readModels.merge(part as ReadModelsPart), ...this.replay },
      onProgress: (p) => {
        const seconds = (Date.now() - started) / 1000;
        this.logger.info(
          { events: p.events, events_per_s: Math.round(p.events / Math.max(seconds, 0.001)), percent: p.total ? Math.round((100 * p.done) / p.total) : 100, [p.counting === 'logs' ? 'logs' : 'events_total']: p.total },
          'replaying the log',
        );
      },
    });
    this.hub.publish([], this.store.head());
    snapshots?.started();
  }

  now(): Date {
    return this.clock.now();
  }

  /** Runs one command against one entity and resolves with its events once they are durable. */
  execute<S, C>(entity: Entity<S, C>, id: string, command: C, context: CommandContext = {}): Promise<Envelope[]> {
    // Not async itself: a command without a key goes straight to run, with no promise wrapped around its own.
    return context.idempotencyKey ? this.executeOnce(entity, id, command, context, context.idempotencyKey) : this.run(entity, id, command, context);
  }

  /** A command with an Idempotency-Key: once per key, and a retry answers what the first one did. */
  private executeOnce<S, C>(entity: Entity<S, C>, id: string, command: C, context: CommandContext, key: string): Promise<Envelope[]> {
    return oneByOne(this.inflight, key, async () => {
      // On a shared store the first request may have gone to another instance: see its writes first.
      await this.store.catchUp?.();
      if (!this.readModels.idempotency.has(key)) {
        try {
          return await this.run(entity, id, command, context);
        } catch (error) {
          // Another instance wrote with the key at the same moment: answer with its write.
          if (!(error instanceof IdempotencyKeyTakenError)) throw error;
          await this.store.catchUp?.();
        }
      }
      return this.answerAgain(key, context);
    });
  }

  /** What the first request with `key` answered, read back from the log. */
  private answerAgain(key: string, context: CommandContext): Promise<Envelope[]> {
    const seen = this.readModels.idempotency.get(key);
    if (!seen) throw new BmoError('store_unavailable', `Idempotency-Key "${key}" was taken by a write this instance has not seen yet; retry with the same key`);
    if (seen.request_hash !== (context.requestHash ?? '')) {
      throw new BmoError('idempotency_mismatch', `Idempotency-Key "${key}" was already used for a different request; use a new key for a new request`);
    }
    return this.readRange(seen.stream as StreamName, seen.first_seq, seen.last_seq);
  }

  /**
   * Runs an operation spanning several streams once every other one with this Idempotency-Key has
   * finished, so a retry arriving while the first still runs sees everything the first wrote. Its
   * own commands with the key go through `execute` as usual (a queue of their own).
   */
  oneAtATime<T>(key: string, operation: () => Promise<T>): Promise<T> {
    return oneByOne(this.operationsInFlight, key, operation);
  }

  /**
   * Another instance on a shared store may move a stream under this one's write model: the model is
   * dropped then, and a command that named no expected version is decided again on the fresh state.
   */
  private async run<S, C>(entity: Entity<S, C>, id: string, command: C, context: CommandContext): Promise<Envelope[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runOnce(entity, id, command, context);
      } catch (error) {
        if (!(error instanceof VersionConflictError) || context.expectedVersion !== undefined || attempt >= (this.store.catchUp ? MAX_SHARED_ATTEMPTS : MAX_ATTEMPTS)) throw error;
        // Decided again on the fresh state, once what the other instance wrote has reached this one,
        // after a random wait that doubles up to 256 ms: two instances racing for one stream stop meeting head on, also on a loaded machine.
        if (this.store.catchUp) {
          await this.store.catchUp();
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** Math.min(attempt + 1, 8)));
        }
      }
    }
  }

  private async runOnce<S, C>(entity: Entity<S, C>, id: string, command: C, context: CommandContext): Promise<Envelope[]> {
    const stream: StreamName = `${entity.kind}/${id}`;
    let model = await this.writeModel(entity, stream);
    if (context.expectedVersion !== undefined && context.expectedVersion > model.version && model.inFlight === 0 && this.store.catchUp) {
      // A version from ahead of this instance (the caller read it from another): catch up before judging it.
      await this.store.catchUp();
      this.dropWriteModel(stream, model);
      model = await this.writeModel(entity, stream);
    }
    if (context.expectedVersion !== undefined && context.expectedVersion !== model.version) {
      throw new VersionConflictError(stream, context.expectedVersion, model.version);
    }
    const now = this.clock.now();
    const events = entity.decide(command, model.state as S | undefined, now, id);
    if (events.length === 0) return [];
    const meta: Meta = {};
    if (context.invocationId) meta.invocation_id = context.invocationId;
    if (context.actor) meta.actor = context.actor;
    if (context.sessionId) meta.session_id = context.sessionId;
    if (context.operationId) meta.operation_id = context.operationId;
    if (context.idempotencyKey) {
      meta.idempotency_key = context.idempotencyKey;
      meta.request_hash = context.requestHash ?? '';
    }
    let durable: Promise<Envelope[]>;
    try {
      durable = this.store.append(stream, events, { expectedVersion: model.version, meta, at: now, claimKey: context.idempotencyKey, decided: this.decided });
    } catch (error) {
      if (error instanceof VersionConflictError) this.dropWriteModel(stream, model); // the store knows a later version than the model
      throw error;
    }
    const at = isoOf(now);
    for (const event of events) {
      const provisional = { pos: 0, stream, seq: model.version + 1, id: '', type: event.type, at, data: event.data, meta, crc: '' } as Envelope;
      model.state = entity.evolve(model.state as S | undefined, provisional);
      model.version++;
    }
    model.inFlight++;
    try {
      return await durable;
    } catch (error) {
      this.dropWriteModel(stream, model);
      throw error;
    } finally {
      model.inFlight--;
    }
  }

  private writeModel<S, C>(entity: Entity<S, C>, stream: StreamName): WriteModel | Promise<WriteModel> {
    const cached = this.writeModels.get(stream);
    if (cached) {
      // Most recently used last: trimWriteModels drops from the front.
      this.writeModels.delete(stream);
      this.writeModels.set(stream, cached);
      return cached;
    }
    const loading = (async () => {
      // On a shared store the stream may move while it is read: read it again, caught up, a few times.
      for (let read = 1; ; read++) {
        const model: WriteModel = { state: undefined, version: 0, inFlight: 0 };
        for await (const { envelope } of this.store.readStream(stream)) {
          model.state = entity.evolve(model.state as S | undefined, envelope);
          model.version = envelope.seq;
        }
        if (model.version === this.store.version(stream)) {
          this.writeModels.set(stream, model);
          this.trimWriteModels();
          return model;
        }
        // Still moving (another instance on a shared store): a command without If-Match is decided again.
        if (!this.store.catchUp || read >= MAX_LOADS) throw new VersionConflictError(stream, model.version, this.store.version(stream));
        await this.store.catchUp();
      }
    })();
    this.writeModels.set(stream, loading);
    loading.catch(() => this.dropWriteModel(stream, loading));
    return loading;
  }

  /** How many streams have a write model in memory. */
  get writeModelCount(): number {
    return this.writeModels.size;
  }

  /** Keeps the write models to `maxWriteModels`: a dropped one is folded again from its log when next needed. */
  private trimWriteModels(): void {
    let excess = this.writeModels.size - this.maxWriteModels;
    if (excess <= 0) return;
    for (const [stream, model] of this.writeModels) {
      if (excess <= 0) break;
      if (model instanceof Promise || model.inFlight > 0) continue;
      this.writeModels.delete(stream);
      excess--;
    }
  }

  /** Forgets a stream's write model, unless another has taken its place already. */
  private dropWriteModel(stream: string, model: WriteModel | Promise<WriteModel>): void {
    if (this.writeModels.get(stream) === model) this.writeModels.delete(stream);
  }

  private async readRange(stream: StreamName, firstSeq: number, lastSeq: number): Promise<Envelope[]> {
    const out: Envelope[] = [];
    for await (const { envelope, line } of this.store.readStream(stream, firstSeq)) {
      if (envelope.seq > lastSeq) break;
      storedLines.set(envelope, line);
      out.push(envelope);
    }
    return out;
  }

  private applyCommitted(batch: StoredEvent[]): void {
    for (const { envelope, line } of batch) {
      storedLines.set(envelope, line);
      // An event this instance did not decide (another instance on a shared store) outdates the write model.
      const model = this.writeModels.get(envelope.stream);
      if (model && !(model instanceof Promise) && model.version < envelope.seq) this.writeModels.delete(envelope.stream);
      this.readModels.apply(envelope);
      const kind = streamKind(envelope.stream);
      if (kind === 'teams') this.teamDetails.apply(envelope);
      else if (kind === 'workstreams') this.workstreamDetails.apply(envelope);
    }
    this.hub.publish(batch, this.store.head());
    this.snapshots?.committed(batch.length);
  }

  async stop(): Promise<void> {
    this.hub.close();
    await this.snapshots?.stop();
    await this.store.close();
  }
}

export { VersionConflictError };

/** Runs `operation` once every other one under `key` in `running` has finished, and is in `running` meanwhile. */
async function oneByOne<T>(running: Map<string, Promise<unknown>>, key: string, operation: () => Promise<T>): Promise<T> {
  // No await between the last check and `running.set`: two callers never both go ahead.
  for (let prior = running.get(key); prior; prior = running.get(key)) await prior.catch(() => {});
  const current = operation();
  running.set(key, current);
  try {
    return await current;
  } finally {
    running.delete(key);
  }
}
