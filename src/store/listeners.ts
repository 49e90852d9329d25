import type { Logger } from 'pino';
import type { StoredEvent } from './types.js';

/** The `onCommit` listeners of a store: one that throws is logged and the others still hear the batch. */
export class CommitListeners {
  private readonly listeners = new Set<(batch: StoredEvent[]) => void>();

  constructor(private readonly logger: Logger) {}

  add(listener: (batch: StoredEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(batch: StoredEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(batch);
      } catch (error) {
        this.logger.error({ err: error }, 'a commit listener failed; the events are durable and the next start rebuilds from them');
      }
    }
  }
}
