import type { Envelope, StreamName } from '../../events/index.js';
import type { EventStore } from '../store/index.js';

/**
 * Entity details folded from their own log when asked for, and kept current while cached: what
 * lets every entity stay lean in memory however long its history. Committed events only.
 */
export class DetailCache<S extends { version: number }> {
  private readonly cache = new Map<string, S>();
  private readonly loading = new Map<string, Promise<S | undefined>>();

  constructor(
    private readonly store: EventStore,
    private readonly evolve: (state: S | undefined, event: Envelope) => S | undefined,
    /** The committed version of a stream, as the read models know it. */
    private readonly committedVersion: (stream: StreamName) => number,
    private readonly capacity = 256,
  ) {}

  get(stream: StreamName): Promise<S | undefined> | S | undefined {
    const hit = this.cache.get(stream);
    if (hit) {
      this.cache.delete(stream);
      this.cache.set(stream, hit);
      return hit;
    }
    let pending = this.loading.get(stream);
    if (!pending) {
      pending = this.load(stream).finally(() => this.loading.delete(stream));
      this.loading.set(stream, pending);
    }
    return pending;
  }

  /** Keeps a cached detail current; a detail that missed an event is dropped and read again when next asked for. */
  apply(event: Envelope): void {
    const state = this.cache.get(event.stream);
    if (!state || event.seq <= state.version) return;
    if (event.seq === state.version + 1) this.evolve(state, event);
    else this.cache.delete(event.stream);
  }

  private async load(stream: StreamName): Promise<S | undefined> {
    let state: S | undefined;
    let seq = 0;
    // Commits landing while the log is read are read too: the check and the caching below run together.
    while (seq < this.committedVersion(stream)) {
      const before = seq;
      for await (const { envelope } of this.store.readStream(stream, seq + 1)) {
        state = this.evolve(state, envelope);
        seq = envelope.seq;
      }
      if (seq === before) break;
    }
    if (state) {
      this.cache.set(stream, state);
      for (const key of this.cache.keys()) {
        if (this.cache.size <= this.capacity) break;
        this.cache.delete(key);
      }
    }
    return state;
  }
}
