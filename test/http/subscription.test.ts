import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent, StreamName } from '../../events/index.js';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { BmoError } from '../../src/errors.js';
import { CLOSE_SHUTDOWN, CLOSE_SLOW_CONSUMER, CLOSE_TOO_MANY_FRAMES, StreamSubscription, type EventSource, type SubscriberSocket, type SubscriptionOptions } from '../../src/http/subscription.js';
import { streamFilter } from '../../src/store/index.js';
import { startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

/** A socket that records what the subscription does; sends complete when the test says (or at once with `autoFlush`). */
class RecordingSocket implements SubscriberSocket {
  frames: string[] = [];
  closes: { code: number; reason: string }[] = [];
  pings = 0;
  terminated = 0;
  pending: ((error?: Error) => void)[] = [];
  constructor(public autoFlush = true) {}
  send(payload: Buffer | string, done?: (error?: Error) => void): void {
    this.frames.push(String(payload));
    if (!done) return;
    if (this.autoFlush) queueMicrotask(() => done());
    else this.pending.push(done);
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  terminate(): void {
    this.terminated++;
  }
  ping(): void {
    this.pings++;
  }
  /** The kernel took everything: every pending send completes, in order. */
  flush(): void {
    const pending = this.pending;
    this.pending = [];
    for (const done of pending) done();
  }
  get parsed(): { op?: string; pos: number; [key: string]: unknown }[] {
    return this.frames.map((f) => JSON.parse(f));
  }
}

/** Resolves once `check` holds, yielding to the event loop between tries. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5_000; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.unreachable(`gave up waiting for ${what}`);
}

function message(n: number, body = `hello ${n}`): DomainEvent {
  return { type: 'message_sent', data: { message_id: `m${n}`, from: 'lead', to: '*', body } };
}

async function append(bmo: Bmo, stream: StreamName, count: number, body?: string): Promise<void> {
  const base = bmo.pipeline.store.head();
  await bmo.pipeline.store.append(stream, Array.from({ length: count }, (_, i) => message(base + i + 1, body)));
}

/** Runs `body` with an in-process bmo (no port) whose pipeline is the subscription's source. */
async function withSource(body: (bmo: Bmo) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('bmo-subscription-');
  const bmo = await startTestBmo(dir);
  try {
    await body(bmo);
  } finally {
    await bmo.close();
    cleanup();
  }
}

function subscription(bmo: Bmo, socket: RecordingSocket, clock: TestClock, options: Partial<SubscriptionOptions> = {}): StreamSubscription {
  return new StreamSubscription(socket, {
    source: bmo.pipeline,
    from: 0,
    filter: streamFilter('*')!,
    maxBufferedBytes: 1 << 20,
    stallMs: 5_000,
    pingIntervalMs: 30_000,
    maxFramesPerSecond: 20,
    clock,
    ...options,
  });
}

const events = (socket: RecordingSocket) => socket.parsed.filter((f) => !f.op);

test('it sends the stored lines after from, then caught_up, then live events in pos order', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 5);
    await append(bmo, 'teams/b', 3);
    const socket = new RecordingSocket();
    const sub = subscription(bmo, socket, new TestClock(), { from: 2, filter: streamFilter('teams/a')! });
    void sub.start();
    await until(() => socket.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    assert.equal(events(socket).map((f) => f.pos), [3, 4, 5]);
    assert.equal(socket.parsed.at(-1), { op: 'caught_up', pos: 8 });
    await append(bmo, 'teams/b', 1);
    await append(bmo, 'teams/a', 2);
    await until(() => events(socket).length === 5, 'the live events');
    assert.equal(events(socket).map((f) => f.pos), [3, 4, 5, 10, 11]);
    assert.is(sub.delivered, 11, 'the last pos handed to the kernel');
    sub.close(1000, 'done');
    sub.ended();
  });
});

test('a client that does not read holds the bytes in flight near the bound, and continues once it reads', async () => {
  await withSource(async (bmo) => {
    const max = 8_192;
    await append(bmo, 'teams/a', 200, 'x'.repeat(200));
    const socket = new RecordingSocket(false);
    const sub = subscription(bmo, socket, new TestClock(), { maxBufferedBytes: max });
    void sub.start();
    await until(() => sub.bytesInFlight > max, 'the buffer to fill');
    const sent = socket.frames.length;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.is(socket.frames.length, sent, 'nothing more is sent while the buffer is full');
    assert.ok(sub.bytesInFlight <= max + 400, `held ${sub.bytesInFlight} bytes; the bound is ${max} plus one line`);
    assert.ok(sent < 200, 'not everything was sent');
    for (let round = 0; round < 100 && events(socket).length < 200; round++) {
      socket.flush();
      await until(() => socket.pending.length > 0 || events(socket).length === 200, 'more frames');
    }
    assert.equal(events(socket).map((f) => f.pos), Array.from({ length: 200 }, (_, i) => i + 1));
    socket.autoFlush = true;
    socket.flush();
    sub.ended();
  });
});

test('a client whose buffer stays full for stall_ms is closed with 4008 and the pos to resume from', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 100, 'y'.repeat(300));
    const socket = new RecordingSocket(false);
    const clock = new TestClock();
    const sub = subscription(bmo, socket, clock, { maxBufferedBytes: 4_096, stallMs: 300 });
    const reader = sub.start();
    await until(() => sub.bytesInFlight > 4_096, 'the buffer to fill');
    socket.flush();
    await until(() => socket.pending.length > 0 && sub.bytesInFlight > 4_096, 'the buffer to fill again');
    const delivered = sub.delivered;
    assert.ok(delivered > 0, 'the first batch reached the kernel');
    await clock.advance(299);
    assert.equal(socket.closes, [], 'not before stall_ms');
    await clock.advance(1);
    await reader;
    assert.is(socket.closes.length, 1);
    assert.is(socket.closes[0].code, CLOSE_SLOW_CONSUMER);
    assert.match(socket.closes[0].reason, `resume with from=${delivered}`);
    assert.is(socket.terminated, 0);
    await clock.advance(1_000);
    assert.is(socket.terminated, 1, 'a socket that does not finish the close is cut');
    sub.ended();
  });
});

test('a posture frame waits for the events up to its pos, and an unchanged posture is not sent again', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 600);
    const socket = new RecordingSocket();
    const clock = new TestClock();
    const sub = subscription(bmo, socket, clock, { posture: bmo.posture });
    void sub.start();
    await until(() => socket.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    await until(() => socket.parsed.some((f) => f.op === 'projection'), 'the posture');
    let seen = 0;
    for (const frame of socket.parsed) {
      if (frame.op === 'projection') assert.ok(frame.pos <= seen, `a posture at ${frame.pos} came after event ${seen} only`);
      else if (!frame.op) seen = frame.pos;
    }
    const postures = () => socket.parsed.filter((f) => f.op === 'projection').length;
    const before = postures();
    await clock.advance(5_000);
    assert.is(postures(), before, 'the same posture is not sent again');
    await append(bmo, 'teams/a', 1);
    await until(() => postures() === before + 1, 'a posture for the new pos');
    assert.is(socket.parsed.filter((f) => f.op === 'projection').at(-1)!.pos, 601);
    sub.ended();
  });
});

test('a client that does not answer a ping is cut at the next one; one that answers is pinged again', async () => {
  await withSource(async (bmo) => {
    const clock = new TestClock();
    const silent = new RecordingSocket();
    const answering = new RecordingSocket();
    const silentSub = subscription(bmo, silent, clock, { pingIntervalMs: 200 });
    const answeringSub = subscription(bmo, answering, clock, { pingIntervalMs: 200 });
    void silentSub.start();
    void answeringSub.start();
    await until(() => silent.frames.length > 0 && answering.frames.length > 0, 'caught_up on both');
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(199);
    assert.is(silent.pings + answering.pings, 0, 'no ping before the interval');
    await clock.advance(1);
    assert.equal([silent.pings, answering.pings], [1, 1]);
    answeringSub.pong();
    await clock.advance(200);
    assert.is(silent.terminated, 1, 'the silent client is cut');
    assert.is(answering.terminated, 0);
    assert.is(answering.pings, 2);
    silentSub.ended();
    answeringSub.ended();
  });
});

test('an op ping is answered with the head; other frames are ignored', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 3);
    const socket = new RecordingSocket();
    const sub = subscription(bmo, socket, new TestClock());
    void sub.start();
    await until(() => socket.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    sub.receive(Buffer.from('{"op":"ping"}'));
    sub.receive(Buffer.from('not json'));
    sub.receive(Buffer.from('{"op":"other"}'));
    assert.equal(socket.parsed.filter((f) => f.op === 'pong'), [{ op: 'pong', pos: 3 }]);
    sub.ended();
  });
});

test('shutdown and a stopped pipeline close with 4001 saying to reconnect with from=', async () => {
  await withSource(async (bmo) => {
    const socket = new RecordingSocket();
    const sub = subscription(bmo, socket, new TestClock());
    void sub.start();
    sub.shutdown();
    sub.shutdown();
    assert.is(socket.closes.length, 1, 'closed once');
    assert.is(socket.closes[0].code, CLOSE_SHUTDOWN);
    assert.match(socket.closes[0].reason, /from=/);
    sub.ended();

    const waiting = new RecordingSocket();
    const reader = subscription(bmo, waiting, new TestClock());
    const done = reader.start();
    await until(() => waiting.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    await bmo.pipeline.stop();
    await done;
    assert.equal(waiting.closes.map((c) => c.code), [CLOSE_SHUTDOWN]);
  });
});

test('a failed read closes with 1011 and its message, and is reported once', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 2);
    const failing: EventSource = {
      hub: bmo.pipeline.hub,
      store: {
        head: () => bmo.pipeline.store.head(),
        readAll: () => Promise.reject(new BmoError('internal', 'the log could not be read; try again')),
      },
    };
    const reported: unknown[] = [];
    const socket = new RecordingSocket();
    await subscription(bmo, socket, new TestClock(), { source: failing, onError: (error) => reported.push(error) }).start();
    assert.equal(socket.closes, [{ code: 1011, reason: 'the log could not be read; try again' }]);
    assert.is(reported.length, 1);
  });
});

test('a client that pongs but whose sends do not complete between two pings is closed with 4008 and the pos to resume from', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 3);
    const clock = new TestClock();
    const socket = new RecordingSocket(false);
    const sub = subscription(bmo, socket, clock, { pingIntervalMs: 200 });
    void sub.start();
    await until(() => socket.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    await clock.advance(200);
    sub.pong();
    assert.is(socket.pings, 1, 'pinged while its sends are pending');
    await clock.advance(200);
    assert.equal(socket.closes.map((c) => c.code), [CLOSE_SLOW_CONSUMER], 'an unsolicited pong is not reading');
    assert.match(socket.closes[0].reason, 'resume with from=0');
    sub.ended();

    // The same with its sends completing: it stays.
    const reading = new RecordingSocket(false);
    const live = subscription(bmo, reading, clock, { pingIntervalMs: 200 });
    void live.start();
    await until(() => reading.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    for (let round = 0; round < 3; round++) {
      await clock.advance(200);
      live.pong();
      reading.flush();
      live.receive('{"op":"ping"}');
    }
    assert.equal(reading.closes, []);
    live.ended();
  });
});

test('the frames a client sends and the answers queued for it count in its budget: over it, 4008 with the pos to resume from', async () => {
  await withSource(async (bmo) => {
    await append(bmo, 'teams/a', 2);
    const clock = new TestClock();
    const socket = new RecordingSocket(false);
    const sub = subscription(bmo, socket, clock, { maxBufferedBytes: 4_096, maxFramesPerSecond: 1_000_000 });
    void sub.start();
    await until(() => socket.parsed.some((f) => f.op === 'caught_up'), 'caught_up');
    socket.flush();
    const ping = JSON.stringify({ op: 'ping', pad: 'p'.repeat(200) });
    let sent = 0;
    while (socket.closes.length === 0 && sent < 1_000) {
      sub.receive(ping);
      sent++;
    }
    assert.ok(sent < 4_096 / 200 + 2, `closed after ${sent} pings`);
    assert.ok(sub.bytesInFlight <= 4_096, `holds ${sub.bytesInFlight} bytes`);
    assert.equal(socket.closes.map((c) => c.code), [CLOSE_SLOW_CONSUMER]);
    assert.match(socket.closes[0].reason, 'resume with from=2');
    const pongs = socket.parsed.filter((f) => f.op === 'pong').length;
    sub.receive(ping);
    assert.is(socket.parsed.filter((f) => f.op === 'pong').length, pongs, 'nothing is answered after the close');
    sub.ended();
  });
});

test('incoming frames are rate-limited per connection: a burst of max_frames_per_second passes, the next closes with 4029', async () => {
  await withSource(async (bmo) => {
    const clock = new TestClock();
    const socket = new RecordingSocket();
    const sub = subscription(bmo, socket, clock, { maxFramesPerSecond: 10 });
    void sub.start();
    for (let i = 0; i < 10; i++) sub.receive('{"op":"ping"}');
    await clock.advance(500);
    for (let i = 0; i < 5; i++) sub.receive('{"op":"ping"}');
    assert.equal(socket.closes, [], 'ten at once and five more half a second later are within the rate');
    sub.receive('{"op":"ping"}');
    assert.equal(socket.closes.map((c) => c.code), [CLOSE_TOO_MANY_FRAMES]);
    assert.match(socket.closes[0].reason, /more than 10 frames a second.*from=0/);
    sub.ended();
  });
});

test.run();
