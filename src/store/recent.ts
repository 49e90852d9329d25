import type { StoredEvent } from './types.js';

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

  *after(pos: number): Generator<StoredEvent> {
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
