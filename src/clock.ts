/** A timer a clock started: `cancel` stops it (on one that fired already it does nothing). */
export interface Timer {
  cancel(): void;
}

export interface TimerOptions {
  /** The timer alone does not keep the process alive (the system clock's `unref`). */
  unref?: boolean;
}

/**
 * The time and the timers bmo runs on, passed in by whoever starts it: the system clock in a
 * server, a `TestClock` that a test moves on in a test.
 */
export interface Clock {
  now(): Date;
  /** Runs `fn` once, `ms` from now. */
  after(ms: number, fn: () => void, options?: TimerOptions): Timer;
  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void, options?: TimerOptions): Timer;
}

export const systemClock: Clock = {
  now: () => new Date(),
  after(ms, fn, options) {
    const timer = setTimeout(fn, ms);
    if (options?.unref) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  every(ms, fn, options) {
    const timer = setInterval(fn, ms);
    if (options?.unref) timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
};

interface Scheduled {
  due: number;
  /** Set for `every`: the timer is due again this long after it ran. */
  interval?: number;
  fn: () => void;
  order: number;
}

/**
 * A clock that stands still until `advance` moves it: the timers due on the way run in time order,
 * each with the clock set to its own due time, and a turn of the event loop after each, so that
 * what a timer started (a sweep, a send) gets on before the next one.
 */
export class TestClock implements Clock {
  private time: number;
  private readonly timers = new Set<Scheduled>();
  private order = 0;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.time = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  after(ms: number, fn: () => void): Timer {
    return this.schedule({ due: this.time + Math.max(0, ms), fn, order: this.order++ });
  }

  every(ms: number, fn: () => void): Timer {
    const interval = Math.max(1, ms);
    return this.schedule({ due: this.time + interval, interval, fn, order: this.order++ });
  }

  /** How many timers are waiting (cancelled and fired one-offs are gone). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves the clock `ms` on, running every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (let next = this.nextDue(until); next; next = this.nextDue(until)) {
      this.time = next.due;
      if (next.interval === undefined) this.timers.delete(next);
      else next.due += next.interval;
      next.fn();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = until;
  }

  private nextDue(until: number): Scheduled | undefined {
    let next: Scheduled | undefined;
    for (const timer of this.timers) {
      if (timer.due > until) continue;
      if (!next || timer.due < next.due || (timer.due === next.due && timer.order < next.order)) next = timer;
    }
    return next;
  }

  private schedule(timer: Scheduled): Timer {
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }
}
