import type { Logger } from 'pino';
import type { Envelope, Meta, StreamName } from '../../events/index.js';
import type { Entity } from '../domain/entity.js';
import { BmoError, VersionConflictError } from '../errors.js';
import type { EventStore, StoredEvent } from '../store/index.js';
import { evolveTeam, type TeamView } from '../../projections/team.js';
import { evolveWorkstream, type WorkstreamView } from '../../projections/workstream.js';
import { DetailCache } from './details.js';
import { Hub } from './hub.js';
import { ReadModels } from './read-models.js';

export interface CommandContext {
  invocationId?: string;
  sessionId?: string;
  idempotencyKey?: string;
  requestHash?: string;
  /** `If-Match`: the version the caller last read. */
  expectedVersion?: number;
}

interface WriteModel {
  state: unknown;
  version: number;
}

export interface PipelineOptions {
  store: EventStore;
  logger: Logger;
  clock?: () => Date;
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
  private readonly logger: Logger;
  private readonly clock: () => Date;
  private readonly writeModels = new Map<string, WriteModel | Promise<WriteModel>>();
  private readonly inflight = new Map<string, Promise<Envelope[]>>();

  constructor(options: PipelineOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.clock = options.clock ?? (() => new Date());
    this.teamDetails = new DetailCache<TeamView>(this.store, (team, event) => evolveTeam(team, event), (stream) => this.readModels.teams.get(stream.slice('teams/'.length))?.version ?? 0);
    this.workstreamDetails = new DetailCache<WorkstreamView>(
      this.store,
      (ws, event) => evolveWorkstream(ws, event),
      (stream) => this.readModels.workstreams.get(stream.slice('workstreams/'.length))?.version ?? 0,
    );
    this.store.onCommit((batch) => this.applyCommitted(batch));
  }

  /** Opens the store and folds every stored event into the read models, logging progress. */
  async start(): Promise<void> {
    const started = Date.now();
    await this.store.open({
      onEvent: (event) => this.readModels.apply(event),
      onProgress: (p) => {
        const seconds = (Date.now() - started) / 1000;
        this.logger.info(
          { events: p.events, events_per_s: Math.round(p.events / Math.max(seconds, 0.001)), percent: p.streams ? Math.round((100 * p.streamsDone) / p.streams) : 100, streams: p.streams },
          'replaying the log',
        );
      },
    });
    this.hub.publish([], this.store.head());
  }

  now(): Date {
    return this.clock();
  }

  /** Runs one command against one entity and resolves with its events once they are durable. */
  async execute<S, C>(entity: Entity<S, C>, id: string, command: C, context: CommandContext = {}): Promise<Envelope[]> {
    const key = context.idempotencyKey;
    if (!key) return this.run(entity, id, command, context);
    // Wait out every request in flight with this key; no await between the last check and `inflight.set` below.
    for (let prior = this.inflight.get(key); prior; prior = this.inflight.get(key)) await prior.catch(() => {});
    const seen = this.readModels.idempotency.get(key);
    if (seen) {
      if (seen.request_hash !== (context.requestHash ?? '')) {
        throw new BmoError('idempotency_mismatch', `Idempotency-Key "${key}" was already used for a different request; use a new key for a new request`);
      }
      return this.readRange(seen.stream as StreamName, seen.first_seq, seen.last_seq);
    }
    const running = this.run(entity, id, command, context);
    this.inflight.set(key, running);
    try {
      return await running;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async run<S, C>(entity: Entity<S, C>, id: string, command: C, context: CommandContext): Promise<Envelope[]> {
    const stream: StreamName = `${entity.kind}/${id}`;
    const model = await this.writeModel(entity, stream);
    if (context.expectedVersion !== undefined && context.expectedVersion !== model.version) {
      throw new VersionConflictError(stream, context.expectedVersion, model.version);
    }
    const now = this.clock();
    const events = entity.decide(command, model.state as S | undefined, now, id);
    if (events.length === 0) return [];
    const meta: Meta = {};
    if (context.invocationId) meta.invocation_id = context.invocationId;
    if (context.sessionId) meta.session_id = context.sessionId;
    if (context.idempotencyKey) {
      meta.idempotency_key = context.idempotencyKey;
      meta.request_hash = context.requestHash ?? '';
    }
    const durable = this.store.append(stream, events, { expectedVersion: model.version, meta, at: now });
    const at = now.toISOString();
    for (const event of events) {
      const provisional = { ...event, pos: 0, stream, seq: model.version + 1, id: '', at, meta, crc: '' } as Envelope;
      model.state = entity.evolve(model.state as S | undefined, provisional);
      model.version++;
    }
    try {
      return await durable;
    } catch (error) {
      this.writeModels.delete(stream);
      throw error;
    }
  }

  private writeModel<S, C>(entity: Entity<S, C>, stream: StreamName): WriteModel | Promise<WriteModel> {
    const cached = this.writeModels.get(stream);
    if (cached) return cached;
    const loading = (async () => {
      const model: WriteModel = { state: undefined, version: 0 };
      for await (const { envelope } of this.store.readStream(stream)) {
        model.state = entity.evolve(model.state as S | undefined, envelope);
        model.version = envelope.seq;
      }
      if (model.version !== this.store.version(stream)) {
        this.writeModels.delete(stream);
        throw new BmoError('store_unavailable', `${stream} moved while it was loading; retry`);
      }
      this.writeModels.set(stream, model);
      return model;
    })();
    this.writeModels.set(stream, loading);
    loading.catch(() => this.writeModels.delete(stream));
    return loading;
  }

  private async readRange(stream: StreamName, firstSeq: number, lastSeq: number): Promise<Envelope[]> {
    const out: Envelope[] = [];
    for await (const { envelope } of this.store.readStream(stream, firstSeq)) {
      if (envelope.seq > lastSeq) break;
      out.push(envelope);
    }
    return out;
  }

  private applyCommitted(batch: StoredEvent[]): void {
    for (const { envelope } of batch) {
      this.readModels.apply(envelope);
      if (envelope.stream.startsWith('teams/')) this.teamDetails.apply(envelope);
      else if (envelope.stream.startsWith('workstreams/')) this.workstreamDetails.apply(envelope);
    }
    this.hub.publish(batch, this.store.head());
  }

  async stop(): Promise<void> {
    this.hub.close();
    await this.store.close();
  }
}

export { VersionConflictError };
