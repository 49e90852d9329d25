import type { StoredEvent, StreamFilter } from './types.js';

/** The last committed events in pos order, so live readers never touch the disk. */
export class RecentEvents {
  private readonly ring: (StoredEvent | undefined)[];
  private start = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  push(event: StoredEvent): void {
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count++) % this.capacity] = event;
    } else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** True when every committed event after `pos` is still held here. */
  covers(pos: number): boolean {
    return this.count > 0 && pos >= this.at(0).envelope.pos - 1;
  }

  /**
   * `readAll` from memory: the events after `fromPos` up to `head` that pass the filter, at most
   * `limit`, and where the next read resumes. Undefined when some of them are no longer held here.
   */
  readAfter(fromPos: number, head: number, limit: number, filter?: StreamFilter): { events: StoredEvent[]; next: number } | undefined {
    if (!this.covers(fromPos)) return undefined;
    const events: StoredEvent[] = [];
    for (const event of this.after(fromPos)) {
      if (event.envelope.pos > head) break;
      if (!filter || filter(event.envelope.stream)) events.push(event);
      if (events.length >= limit) return { events, next: event.envelope.pos };
    }
    return { events, next: head };
  }

  private *after(pos: number): Generator<StoredEvent> {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).envelope.pos <= pos) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.count; i++) yield this.at(i);
  }

  private at(i: number): StoredEvent {
    return this.ring[(this.start + i) % this.capacity]!;
  }
}
