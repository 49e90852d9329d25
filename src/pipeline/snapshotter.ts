import type { Logger } from 'pino';
import type { EventStore, StoreCheckpoint } from '../store/index.js';
import type { ReadModels } from './read-models.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotPace, type SnapshotStore } from './snapshots.js';

export interface SnapshotOptions {
  store: SnapshotStore;
  /** Write one after this many events since the last (0: never by count). */
  everyEvents: number;
  /** And after this long, if any event came since the last (0: never by time). */
  everyMs: number;
  /** Write snapshots at all (a CLI that opens the data directory only reads them). */
  write: boolean;
  /** How long each turn of packing a snapshot may take (default 8 ms). */
  pace?: SnapshotPace;
}

/**
 * Projection snapshots: the newest usable one is where a start replays from, and new ones are
 * written every so many events or minutes, and on a clean stop. A snapshot is only a shortcut:
 * one that cannot be used is ignored with a warning and the log replayed in full.
 */
export class Snapshotter {
  private sinceLast = 0;
  private lastPos = 0;
  /** The snapshot a start restored, until the logs take or refuse it. */
  private startedFrom: { snapshot: string; pos: number } | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SnapshotOptions,
    private readonly models: ReadModels,
    private readonly eventStore: EventStore,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  /** For `OpenOptions.startFrom`: restores the read models from the newest usable snapshot and answers its checkpoint. */
  async startFrom(): Promise<StoreCheckpoint | undefined> {
    for await (const { name, bytes } of this.options.store.load()) {
      let decoded;
      try {
        decoded = decodeSnapshot(bytes);
        if (!('refused' in decoded)) this.models.restore(decoded.models);
      } catch (error) {
        this.models.reset();
        bytes.close();
        decoded = { refused: `it does not read (${(error as Error).message})` };
      }
      if ('refused' in decoded) {
        this.logger.warn({ snapshot: name, reason: decoded.refused }, 'a snapshot was ignored; an older one or the whole log is replayed instead');
        continue;
      }
      this.lastPos = decoded.pos;
      this.startedFrom = { snapshot: name, pos: decoded.pos };
      return decoded.store;
    }
    return undefined;
  }

  /** For `OpenOptions.onCheckpointRefused`: the restored models go, and the whole log is replayed. */
  refused(reason: string): void {
    this.logger.warn({ reason }, 'the snapshot does not match the log and was ignored; the whole log is replayed');
    this.models.reset();
    this.lastPos = 0;
    this.startedFrom = undefined;
  }

  /** Once started: counts commits and writes by time. */
  started(): void {
    // Said once the logs have taken the snapshot: one they refused says so instead.
    if (this.startedFrom) this.logger.info(this.startedFrom, 'started from a snapshot: only the events after it were replayed');
    if (!this.options.write || this.options.everyMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.models.pos !== this.lastPos) void this.write();
    }, this.options.everyMs);
    this.timer.unref();
  }

  committed(events: number): void {
    this.sinceLast += events;
    if (this.options.write && this.options.everyEvents > 0 && this.sinceLast >= this.options.everyEvents && !this.writing) setImmediate(() => void this.write());
  }

  /** On a clean stop: a last snapshot, when anything came since the one before. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    if (this.options.write && this.models.pos !== this.lastPos) await this.write();
  }

  /**
   * Takes the models and the store's checkpoint in one turn, packs them over several turns (events
   * keep being served meanwhile), then writes them out; a failure is logged, never fatal.
   */
  write(): Promise<void> {
    if (this.writing || !this.eventStore.checkpoint) return this.writing ?? Promise.resolve();
    const started = Date.now();
    this.sinceLast = 0;
    const encoded = encodeSnapshot(this.models, this.eventStore.checkpoint(), this.now(), this.options.pace ?? DEFAULT_PACE);
    let pos = this.models.pos;
    this.writing = encoded
      .then(async (snapshot) => {
        pos = snapshot.pos;
        await this.options.store.save(pos, snapshot.parts);
        this.lastPos = pos;
        this.logger.info({ pos, bytes: snapshot.parts.reduce((sum, part) => sum + part.length, 0), ms: Date.now() - started, where: this.options.store.where }, 'snapshot written');
      })
      .catch((error) => this.logger.warn({ err: error, pos, where: this.options.store.where }, 'a snapshot could not be written; the next start replays more of the log'))
      .finally(() => (this.writing = undefined));
    return this.writing;
  }
}

/** A turn of packing takes at most this long: requests wait no longer than that behind a snapshot. */
const DEFAULT_PACE: SnapshotPace = { turnMs: 8 };
