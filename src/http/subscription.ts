import type { Clock, Timer } from '../clock.js';
import { BmoError } from '../errors.js';
import type { Hub } from '../pipeline/hub.js';
import type { EventStore, StoredEvent, StreamFilter } from '../store/index.js';

/** Close codes a client can act on. */
export const CLOSE_BAD_SUBSCRIPTION = 4000;
export const CLOSE_SHUTDOWN = 4001;
export const CLOSE_CREDENTIAL_LAPSED = 4003;
export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_TOO_MANY_FRAMES = 4029;

/** What a subscription needs of a WebSocket: the route adapts `ws`, a test records the calls. */
export interface SubscriberSocket {
  /** Sends one text frame; `done` runs once it was handed to the kernel (or failed), in send order. */
  send(payload: Buffer | string, done?: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
  /** Frames sent in one turn go out in one write when the socket can be corked until the next tick. */
  cork?(): void;
  uncork?(): void;
}

/** The log and its commits, as the pipeline offers them. */
export interface EventSource {
  store: Pick<EventStore, 'head' | 'readAll'>;
  hub: Pick<Hub, 'waitPast' | 'subscribe' | 'stopped'>;
}

export interface SubscriptionOptions {
  source: EventSource;
  /** Every event after this pos that the filter takes is sent, then live ones. */
  from: number;
  filter: StreamFilter;
  /** Set for a posture subscriber: the one snapshot every surface reads. */
  posture?: () => { pos: number };
  maxBufferedBytes: number;
  /** How long a full buffer may wait to drain before the client is closed as too slow. */
  stallMs: number;
  pingIntervalMs: number;
  /** Asked before each ping: a reason (the credential expired) closes the subscription with 4003. */
  lapsed?: () => string | undefined;
  /** Frames a client may send a second (a burst of as many is allowed); more closes it with 4029. */
  maxFramesPerSecond: number;
  /** The pings, the stall wait, the close's grace, the posture tick and the frame allowance run on it. */
  clock: Clock;
  /** A read of the log failed: the subscription closes with 1011 after saying so here. */
  onError?: (error: unknown) => void;
}

const BATCH = 512;
/** How often a posture subscriber's snapshot is checked for changes no event made (liveness moves with the clock). */
export const POSTURE_TICK_MS = 1000;
/** How long a closed socket has to say goodbye before it is cut. */
const CLOSE_GRACE_MS = 1000;
/** An open subscription is held by its socket, never by a timer. */
const UNREF = { unref: true } as const;
const SHUTDOWN_REASON = 'server shutting down; reconnect with from=<your last pos>';

/** A posture snapshot's frame, serialised once however many subscribers it goes to; the same text means no change. */
const postureFrames = new WeakMap<object, string>();
function postureFrame(snapshot: { pos: number }): string {
  let frame = postureFrames.get(snapshot);
  if (frame === undefined) {
    frame = JSON.stringify({ op: 'projection', name: 'posture', pos: snapshot.pos, state: snapshot });
    postureFrames.set(snapshot, frame);
  }
  return frame;
}

/** The bytes a server (unmasked) text frame of `length` payload bytes puts on the wire. */
export const frameBytes = (length: number) => length + (length < 126 ? 2 : length < 65_536 ? 4 : 10);

/**
 * One client's subscription to the log: every stored event after `from` that the filter takes,
 * then live ones, read by position so that there is no gap and no duplicate. It owns what the
 * client is owed: the bytes in flight (counted from `send` callbacks, one per batch of frames, on
 * its last frame), the wait for a full buffer to drain, posture frames after the events they
 * reflect, ping/pong liveness, and the close code a client can act on.
 */
export class StreamSubscription {
  private readonly clock: Clock;
  private readonly max: number;
  private closed = false;
  private inFlight = 0;
  private deliveredPos: number;
  /** Where the reader has got to in the log: every event up to here that the filter takes has been sent. */
  private readTo: number;
  private drained: (() => void) | undefined;
  private alive = true;
  /** Sends completed since the start: a client whose sends stop completing between two pings is not reading. */
  private settled = 0;
  private settledAtPing = 0;
  private pendingAtPing = false;
  /** Incoming frames the client may still send before it must wait (a token bucket refilled with the clock). */
  private frameAllowance: number;
  private allowanceAt: number;
  private corked = false;
  private pingTimer: Timer | undefined;
  private postureTimer: Timer | undefined;
  private unsubscribePosture: (() => void) | undefined;
  private lastPosture: string | undefined;
  private postureDue = false;

  constructor(
    private readonly socket: SubscriberSocket,
    private readonly options: SubscriptionOptions,
  ) {
    this.clock = options.clock;
    this.max = options.maxBufferedBytes;
    this.deliveredPos = options.from;
    this.readTo = options.from;
    this.frameAllowance = options.maxFramesPerSecond;
    this.allowanceAt = this.clock.now().getTime();
  }

  /** The last pos handed to the kernel: where a client that is cut off resumes from. */
  get delivered(): number {
    return this.deliveredPos;
  }

  /** The bytes sent and not yet handed to the kernel. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts pings, posture and the reader; resolves when the reader stops. */
  start(): Promise<void> {
    this.pingTimer = this.clock.every(this.options.pingIntervalMs, () => this.checkLiveness(), UNREF);
    if (this.options.posture) {
      this.sendPosture();
      // After every commit, and on a timer for what moves with the clock alone (a session lapsing, a claim going stale).
      this.unsubscribePosture = this.options.source.hub.subscribe(() => this.sendPosture());
      this.postureTimer = this.clock.every(POSTURE_TICK_MS, () => this.sendPosture(), UNREF);
    }
    return this.read();
  }

  /** The client answered a ping. */
  pong(): void {
    this.alive = true;
  }

  /**
   * A frame from the client: `{"op":"ping"}` is answered with the head. Its bytes count in the
   * budget until its answer was handed to the kernel, so a client that sends and does not read
   * reaches the bound like one that only does not read.
   */
  receive(data: Buffer | string): void {
    if (this.closed) return;
    if (!this.allowFrame()) {
      const limit = this.options.maxFramesPerSecond;
      this.close(CLOSE_TOO_MANY_FRAMES, `more than ${limit} frames a second sent; send fewer, resume with from=${this.deliveredPos}`);
      return;
    }
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.inFlight + bytes > this.max) {
      this.closeSlow();
      return;
    }
    let message: { op?: string } | undefined;
    try {
      message = JSON.parse(String(data));
    } catch {
      message = undefined;
    }
    if (message?.op === 'ping') {
      this.inFlight += bytes;
      this.send(JSON.stringify({ op: 'pong', pos: this.options.source.store.head() }), undefined, bytes);
    }
  }

  /** Takes one frame from the allowance, refilled at maxFramesPerSecond; false when none is left. */
  private allowFrame(): boolean {
    const rate = this.options.maxFramesPerSecond;
    const now = this.clock.now().getTime();
    this.frameAllowance = Math.min(rate, this.frameAllowance + ((now - this.allowanceAt) * rate) / 1000);
    this.allowanceAt = now;
    if (this.frameAllowance < 1) return false;
    this.frameAllowance -= 1;
    return true;
  }

  /** The socket closed (either side): timers stop and a waiting reader wakes to stop. */
  ended(): void {
    this.closed = true;
    this.pingTimer?.cancel();
    this.postureTimer?.cancel();
    this.unsubscribePosture?.();
    this.drained?.();
  }

  /** The server is stopping: the client is told to reconnect. */
  shutdown(): void {
    this.close(CLOSE_SHUTDOWN, SHUTDOWN_REASON);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
    this.clock.after(CLOSE_GRACE_MS, () => this.socket.terminate(), UNREF);
  }

  /** A live client answers pings and reads: sends pending at the last ping must have moved since. */
  private checkLiveness(): void {
    const lapse = this.options.lapsed?.();
    if (lapse) return this.close(CLOSE_CREDENTIAL_LAPSED, lapse);
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    if (this.pendingAtPing && this.settled === this.settledAtPing) {
      this.closeSlow();
      return;
    }
    this.settledAtPing = this.settled;
    this.pendingAtPing = this.inFlight > 0;
    this.alive = false;
    this.socket.ping();
  }

  private closeSlow(): void {
    this.close(CLOSE_SLOW_CONSUMER, `slow consumer: more than ${this.max} bytes unread; resume with from=${this.deliveredPos}`);
  }

  /** A send completed (or failed): `bytes` leave the count, and `pos` (if any) was handed to the kernel. */
  private settle(bytes: number, pos: number | undefined, error: Error | undefined): void {
    this.inFlight -= bytes;
    this.settled++;
    if (!error && pos !== undefined && pos > this.deliveredPos) this.deliveredPos = pos;
    if (this.drained && this.inFlight <= this.max / 2) {
      const wake = this.drained;
      this.drained = undefined;
      wake();
    }
    if (this.postureDue && !this.closed && this.inFlight <= this.max / 2) this.sendPosture();
  }

  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork!();
  };

  // Frames sent in one turn go out in one write: the socket is corked until the next tick.
  private cork(): void {
    if (this.corked || !this.socket.cork) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.uncork);
  }

  /** Sends one frame; `held` bytes already counted (an incoming frame it answers) leave the count with it. */
  private send(payload: Buffer | string, pos?: number, held = 0): void {
    const bytes = frameBytes(typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
    this.inFlight += bytes;
    this.cork();
    this.socket.send(payload, (error) => this.settle(bytes + held, pos, error));
  }

  /**
   * Sends the stored lines `events[from..to)` with one send callback, on the last frame (sends
   * complete in order): its bytes stay counted until the whole batch was written.
   */
  private sendBatch(events: StoredEvent[], from: number, to: number, bytes: number): void {
    this.inFlight += bytes;
    this.cork();
    for (let i = from; i < to - 1; i++) {
      const { line } = events[i];
      this.socket.send(line.subarray(0, line.length - 1));
    }
    const last = events[to - 1];
    this.socket.send(last.line.subarray(0, last.line.length - 1), (error) => this.settle(bytes, last.envelope.pos, error));
  }

  /** Waits for the buffer to drain; a client that does not read is closed. */
  private async drain(): Promise<void> {
    if (this.inFlight <= this.max) return;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = this.clock.after(this.options.stallMs, () => resolve(false), UNREF);
      this.drained = () => {
        timer.cancel();
        resolve(true);
      };
    });
    if (!ok) this.closeSlow();
  }

  private sendPosture(): void {
    // A snapshot supersedes the one before: while the buffer is full, only the newest is sent, once it drains.
    // It goes after the events it reflects, never before: the stream stays in pos order.
    const snapshot = this.options.posture!();
    if (this.inFlight > this.max || snapshot.pos > this.readTo) {
      this.postureDue = true;
      return;
    }
    this.postureDue = false;
    const frame = postureFrame(snapshot);
    if (frame === this.lastPosture) return;
    this.lastPosture = frame;
    this.send(frame);
  }

  private async read(): Promise<void> {
    const { store, hub } = this.options.source;
    let pos = this.options.from;
    let caughtUp = false;
    try {
      while (!this.closed) {
        if (pos >= store.head()) {
          if (!caughtUp) {
            caughtUp = true;
            this.send(JSON.stringify({ op: 'caught_up', pos }));
          }
          await hub.waitPast(pos);
          if (hub.stopped) return this.shutdown();
          continue;
        }
        const { events, next } = await store.readAll(pos, { filter: this.options.filter, limit: BATCH });
        if (!(await this.sendEvents(events))) return;
        pos = next;
        this.readTo = pos;
        if (this.postureDue && !this.closed) this.sendPosture();
      }
    } catch (error) {
      this.options.onError?.(error);
      this.close(1011, error instanceof BmoError ? error.message.slice(0, 120) : 'internal error; reconnect with from=<your last pos>');
    }
  }

  /** Sends a page of events within the bound; false once the subscription closed. */
  private async sendEvents(events: StoredEvent[]): Promise<boolean> {
    for (let i = 0; i < events.length; ) {
      if (this.closed) return false;
      if (this.inFlight > this.max) {
        await this.drain();
        continue;
      }
      // As many lines as fit under the bound, and at least one: what is held stays within max + one line.
      // A batch is at most a quarter of the bound, so that earlier batches complete (and wake a drain) while later ones wait.
      const room = Math.min(this.max - this.inFlight, this.max / 4);
      let end = i;
      let bytes = 0;
      do bytes += frameBytes(events[end++].line.length - 1);
      while (end < events.length && bytes + frameBytes(events[end].line.length - 1) <= room);
      this.sendBatch(events, i, end, bytes);
      i = end;
    }
    return true;
  }
}
