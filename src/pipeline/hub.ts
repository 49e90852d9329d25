import type { StoredEvent } from '../store/index.js';

/**
 * Wakes live readers when positions are committed. Readers pull from the store by pos, so a slow
 * or reconnecting reader can never miss or repeat an event: the hub only says "there is more".
 */
export class Hub {
  private head = 0;
  private waiters: (() => void)[] = [];
  private readonly listeners = new Set<(batch: StoredEvent[], head: number) => void>();
  private closed = false;

  publish(batch: StoredEvent[], head: number): void {
    this.head = head;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    for (const listener of this.listeners) listener(batch, head);
  }

  /** Resolves once the head is past `pos` (at once if it already is) or the hub closes. */
  waitPast(pos: number): Promise<void> {
    if (this.head > pos || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called after every commit, with the committed events in pos order. */
  subscribe(listener: (batch: StoredEvent[], head: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True once the pipeline stopped: `waitPast` then resolves at once, so a waiting reader must stop. */
  get stopped(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.publish([], this.head);
  }
}
