import type {} from '@fastify/websocket';
import type { Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { DomainEvent, StreamName } from '../../events/index.js';
import type { Bmo } from '../../src/app.js';
import { streamFilter, type StoredEvent } from '../../src/store/index.js';
import { TestClock } from '../../src/clock.js';
import { call, TOKEN, withBmo as withTestBmo } from '../helpers/bmo.js';
import { until, within } from '../helpers/wait.js';

interface Frame {
  pos: number;
  stream?: string;
  op?: string;
  [key: string]: unknown;
}

interface Client {
  ws: WebSocket;
  /** Every text frame as it arrived. */
  raw: string[];
  /** Stored events only (frames without `op`). */
  events: Frame[];
  /** Control frames (`caught_up`, `projection`, `pong`). */
  controls: Frame[];
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
}

function streamUrl(bmo: Bmo, query = ''): string {
  return `${bmo.url!.replace(/^http/, 'ws')}/v1/stream${query ? `?${query}` : ''}`;
}

/** Opens a subscription and records every frame; rejects when the upgrade is refused. */
async function subscribe(bmo: Bmo, query = '', options: WebSocket.ClientOptions & { auth?: boolean } = {}): Promise<Client> {
  const { auth = true, ...wsOptions } = options;
  const ws = new WebSocket(streamUrl(bmo, query), { ...wsOptions, headers: { ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}), ...wsOptions.headers } });
  const client: Client = { ws, raw: [], events: [], controls: [], pings: 0, closed: undefined as never };
  client.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('ping', () => client.pings++);
  ws.on('message', (data, isBinary) => {
    assert.not.ok(isBinary, 'every frame is a text frame');
    const text = data.toString();
    client.raw.push(text);
    const frame = JSON.parse(text) as Frame;
    (frame.op ? client.controls : client.events).push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)));
  });
  return client;
}

/** An upgrade the server must refuse: its status and JSON body. */
async function refusedUpgrade(bmo: Bmo, query: string, headers: Record<string, string>): Promise<{ status: number; body: { error?: string; message?: string } }> {
  const ws = new WebSocket(streamUrl(bmo, query), { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode!, body: JSON.parse(body) });
      });
    });
  });
}

const caughtUp = (client: Client) => client.controls.some((c) => c.op === 'caught_up');
const lastPos = (client: Client) => client.events.at(-1)?.pos ?? 0;

/** Runs `body` against a listening bmo on a fresh data directory, then closes it and removes the directory. */
function withBmo(overrides: Record<string, unknown>, body: (bmo: Bmo, closeBmo: () => Promise<void>) => Promise<void>, logLines?: string[], clock?: TestClock): Promise<void> {
  return withTestBmo((bmo, _dir, close) => body(bmo, close), { listen: true, overrides, logLines, clock });
}

function message(n: number, body = `hello ${n}`): DomainEvent {
  return { type: 'message_sent', data: { message_id: `m${n}`, from: 'lead', to: '*', body } };
}

/** Appends `count` messages to `stream` in chunks, one chunk at a time; `next` numbers them. */
async function appendMessages(bmo: Bmo, stream: StreamName, count: number, chunk: number, next: () => number, body?: string): Promise<void> {
  for (let done = 0; done < count; ) {
    const size = Math.min(chunk, count - done);
    await bmo.pipeline.store.append(stream, Array.from({ length: size }, () => message(next(), body)));
    done += size;
  }
}

function counter(start = 0): () => number {
  let n = start;
  return () => ++n;
}

/** What `readAll` pages out of the store from `from`, through the head. */
async function stored(bmo: Bmo, from = 0, filter = '*'): Promise<StoredEvent[]> {
  const head = bmo.pipeline.store.head();
  const out: StoredEvent[] = [];
  for (let pos = from; pos < head; ) {
    const { events, next } = await bmo.pipeline.store.readAll(pos, { filter: streamFilter(filter), limit: 1000 });
    out.push(...events);
    pos = next;
  }
  return out;
}

function assertStrictlyIncreasing(positions: number[]): void {
  for (let i = 1; i < positions.length; i++) {
    if (positions[i] <= positions[i - 1]) assert.unreachable(`pos ${positions[i]} came after ${positions[i - 1]} (frame ${i})`);
  }
}

/** The frames a client got for stored events are exactly the stored lines, in order. */
function assertSameEvents(received: string[], expected: StoredEvent[], label: string): void {
  assert.is(received.length, expected.length, `${label}: event frame count`);
  for (let i = 0; i < expected.length; i++) {
    const line = expected[i].line.toString('utf8', 0, expected[i].line.length - 1);
    if (received[i] !== line) assert.unreachable(`${label}: frame ${i} is ${received[i].slice(0, 80)}, the store has ${line.slice(0, 80)}`);
  }
}

const eventFrames = (client: Client) => client.raw.filter((text) => !text.startsWith('{"op"'));

test('a subscriber from 0 receives exactly the stored sequence while 10,000 events are appended concurrently', async () => {
  await withBmo({}, async (bmo) => {
    const next = counter();
    await appendMessages(bmo, 'teams/seed', 300, 50, next);
    const client = await subscribe(bmo, 'from=0');

    const writers = Array.from({ length: 8 }, (_, w) => appendMessages(bmo, `teams/writer-${w}`, 1_250, 1 + (w % 5) * 3, next));
    await Promise.all(writers);
    const head = bmo.pipeline.store.head();
    assert.is(head, 10_300);
    await until(() => lastPos(client) >= head, `pos ${head} on the stream`, 15_000);

    const positions = client.events.map((e) => e.pos);
    assertStrictlyIncreasing(positions);
    const expected = await stored(bmo);
    assert.equal(positions, expected.map((e) => e.envelope.pos), 'the pos list the store pages out');
    assert.equal(positions, Array.from({ length: head }, (_, i) => i + 1), 'no gap: every position from 1 to the head');
    assertSameEvents(eventFrames(client), expected, 'from=0');
    client.ws.close();
  });
});

test('a client that reconnects from the last pos it saw gets exactly the events after it, from the log and live', async () => {
  await withBmo({}, async (bmo) => {
    const next = counter();
    await Promise.all([0, 1, 2].map((t) => appendMessages(bmo, `teams/t${t}`, 2_000, 100, next)));
    const head = bmo.pipeline.store.head();

    // 1. The first connection drops after it has seen part of the history (older than the in-memory tail).
    const first = await subscribe(bmo, 'from=0');
    await until(() => first.events.length >= 1_234, 'the first 1,234 events');
    first.ws.terminate();
    await first.closed;
    const seen = lastPos(first);
    assert.ok(seen < head - 4096, `dropped at ${seen}, inside the history read from disk`);

    // 2. It reconnects from there while writes go on.
    const second = await subscribe(bmo, `from=${seen}`);
    await appendMessages(bmo, 'teams/t0', 500, 7, next);
    const finalHead = bmo.pipeline.store.head();
    await until(() => lastPos(second) >= finalHead, `pos ${finalHead} after the reconnect`);
    assert.is(second.events[0].pos, seen + 1, 'the reconnect starts right after the last pos seen');
    assertSameEvents(eventFrames(second), await stored(bmo, seen), `from=${seen}`);
    assert.equal([...first.events, ...second.events].map((e) => e.pos), Array.from({ length: finalHead }, (_, i) => i + 1), 'both connections together: no gap, no duplicate');

    // 3. A reconnect from a recent pos is served from the in-memory tail, and the caught_up frame names the head.
    const recent = finalHead - 100;
    const third = await subscribe(bmo, `from=${recent}`);
    await until(() => caughtUp(third), 'caught_up');
    assertSameEvents(eventFrames(third), await stored(bmo, recent), `from=${recent}`);
    assert.is(third.controls.find((c) => c.op === 'caught_up')!.pos, finalHead);
    for (const client of [second, third]) client.ws.close();
  });
});

test('a teams/<id> filter gets that stream only and a workstreams/* filter gets every workstream, from the log and live', async () => {
  await withBmo({}, async (bmo) => {
    const next = counter();
    const { store } = bmo.pipeline;
    await store.append('workstreams/w1', [{ type: 'workstream_created', data: { workstream_id: 'w1', label: 'one' } }]);
    await store.append('workstreams/w2', [{ type: 'workstream_created', data: { workstream_id: 'w2', label: 'two' } }]);
    for (let round = 0; round < 40; round++) {
      await Promise.all([
        appendMessages(bmo, 'teams/a', 3, 3, next),
        appendMessages(bmo, 'teams/ab', 2, 2, next),
        appendMessages(bmo, 'teams/b', 2, 1, next),
        store.append(round % 2 ? 'workstreams/w1' : 'workstreams/w2', [{ type: 'status_changed', data: { status: 'active', reason: `round ${round}` } }]),
      ]);
    }
    const oneTeam = await subscribe(bmo, 'from=0&filter=teams/a');
    const workstreams = await subscribe(bmo, 'from=0&filter=workstreams/*');
    await until(() => caughtUp(oneTeam) && caughtUp(workstreams), 'both subscriptions to catch up');
    assertSameEvents(eventFrames(oneTeam), await stored(bmo, 0, 'teams/a'), 'teams/a');
    assertSameEvents(eventFrames(workstreams), await stored(bmo, 0, 'workstreams/*'), 'workstreams/*');
    assert.equal([...new Set(oneTeam.events.map((e) => e.stream))], ['teams/a']);
    assert.equal([...new Set(workstreams.events.map((e) => e.stream))].sort(), ['workstreams/w1', 'workstreams/w2']);

    // Live: the other streams are written first, so a frame for them would arrive before the awaited one.
    const before = { oneTeam: oneTeam.events.length, workstreams: workstreams.events.length };
    await appendMessages(bmo, 'teams/b', 1, 1, next);
    await appendMessages(bmo, 'teams/ab', 1, 1, next);
    await store.append('workstreams/w3', [{ type: 'workstream_created', data: { workstream_id: 'w3', label: 'three' } }]);
    const [lastA] = await store.append('teams/a', [message(next())]);
    await store.append('workstreams/w1', [{ type: 'status_changed', data: { status: 'completed' } }]);
    await until(() => lastPos(oneTeam) === lastA.pos, 'the live teams/a event');
    await until(() => workstreams.events.length === before.workstreams + 2, 'the two live workstream events');
    assert.equal(oneTeam.events.slice(before.oneTeam).map((e) => e.pos), [lastA.pos]);
    assert.equal(workstreams.events.slice(before.workstreams).map((e) => e.stream), ['workstreams/w3', 'workstreams/w1']);
    for (const client of [oneTeam, workstreams]) client.ws.close();
  });
});

test('a subscription with a bad filter or from is closed with 4000 and a reason that says what is wrong', async () => {
  await withBmo({}, async (bmo) => {
    for (const [query, reason] of [
      ['filter=teams', /filter: "teams" is not a stream pattern; use \*, <kind>\/\* or <kind>\/<id>/],
      ['filter=teams/a,Teams/B', /filter: "Teams\/B"/],
      ['filter=tasks/*', /filter: "tasks\/\*"/],
      ['filter=*,bogus', /filter: "bogus"/],
      ['from=-5', /from: must be a whole number/],
      ['from=abc', /from: must be a whole number/],
      ['from=', /from: must be a whole number/],
      ['from=0x10', /from: must be a whole number/],
      ['from=1e1', /from: must be a whole number/],
      ['form=15', /form/],
      ['projections=bogus', /projections/],
    ] as const) {
      const client = await subscribe(bmo, query);
      const closed = await client.closed;
      assert.is(closed.code, 4000, query);
      assert.match(closed.reason, reason, query);
      assert.is(client.raw.length, 0, `${query}: nothing is sent before the close`);
    }
  });
});

test('projections=posture sends the posture GET /v1/teams/posture shows at the same pos, and a new frame after each write', async () => {
  await withBmo({}, async (bmo) => {
    const created = await call(bmo, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'Lead' } });
    assert.is(created.status, 201);
    const client = await subscribe(bmo, 'from=0&projections=posture&filter=teams/*');
    await until(() => client.controls.some((c) => c.op === 'projection'), 'the first projection frame');
    const first = client.controls.find((c) => c.op === 'projection')!;
    const posture = await call(bmo, 'GET', '/v1/teams/posture');
    assert.is(first.name, 'posture');
    assert.is(first.pos, posture.json.pos);
    assert.is(first.pos, bmo.pipeline.store.head());
    assert.equal(first.state, posture.json);

    const task = await call(bmo, 'POST', '/v1/teams/alpha/tasks', { title: 'write the stream tests' });
    assert.is(task.status, 201);
    await until(() => client.controls.some((c) => c.op === 'projection' && c.pos === task.json.pos), `a projection frame at pos ${task.json.pos}`);
    const second = client.controls.find((c) => c.op === 'projection' && c.pos === task.json.pos)!;
    const after = await call(bmo, 'GET', '/v1/teams/posture');
    assert.equal(second.state, after.json);
    assert.is((second.state as { teams: { tasks: { total: number } }[] }).teams[0].tasks.total, 1);
    assert.is(client.controls.filter((c) => c.op === 'projection').length, 2, 'one frame per new pos');
    client.ws.close();
  });
});

test('a posture frame never comes before the events it reflects: catching up from 0 and live, the stream stays in pos order', async () => {
  await withBmo({}, async (bmo) => {
    const next = counter();
    await appendMessages(bmo, 'teams/alpha', 300, 50, next);
    const client = await subscribe(bmo, 'from=0&projections=posture');
    await appendMessages(bmo, 'teams/alpha', 300, 10, next);
    await until(() => lastPos(client) === bmo.pipeline.store.head() && client.controls.some((c) => c.op === 'projection' && c.pos === lastPos(client)), 'every event and the posture at the head');
    let seen = 0;
    let projections = 0;
    for (const text of client.raw) {
      const frame = JSON.parse(text) as { op?: string; pos: number };
      if (frame.op === 'projection') {
        projections++;
        assert.ok(frame.pos <= seen, `a posture at pos ${frame.pos} came after event ${seen} only`);
      } else if (!frame.op) seen = frame.pos;
    }
    assert.ok(projections >= 2, 'postures came during the appends too');
    client.ws.close();
  });
});

test('projections=posture also sends a new frame when only the clock moved it: a lead session lapses with no write', async () => {
  const clock = new TestClock();
  await withBmo({}, async (bmo) => {
    assert.is((await call(bmo, 'POST', '/v1/sessions', { session_id: 'brief', lease_ms: 1000 })).status, 201);
    assert.is((await call(bmo, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { member_id: 'lead', name: 'Lead', session_id: 'brief' } })).status, 201);
    const client = await subscribe(bmo, 'from=0&projections=posture&filter=teams/*');
    const leadOf = (c: Frame) => (c.state as { teams: { lead: string }[] }).teams[0].lead;
    await until(() => client.controls.some((c) => c.op === 'projection'), 'the first projection frame');
    const head = bmo.pipeline.store.head();
    assert.is(leadOf(client.controls.find((c) => c.op === 'projection')!), 'alive');
    await clock.advance(2000);
    await until(() => client.controls.some((c) => c.op === 'projection' && leadOf(c) === 'gone'), 'a frame with the lead gone', 5_000);
    const frames = client.controls.filter((c) => c.op === 'projection');
    assert.is(frames.at(-1)!.pos, head, 'no event was written: the same pos, another posture');
    assert.equal(frames.at(-1)!.state, (await call(bmo, 'GET', '/v1/teams/posture')).json);
    // Three more ticks, then a ping: its pong comes after anything the ticks sent.
    await clock.advance(3000);
    client.ws.send(JSON.stringify({ op: 'ping' }));
    await until(() => client.controls.some((c) => c.op === 'pong'), 'the pong');
    assert.is(client.controls.filter((c) => c.op === 'projection').length, frames.length, 'an unchanged posture is not sent again');
    client.ws.close();
  }, undefined, clock);
});

test('a client that stops reading is closed with 4008 and the pos to resume from, with the bytes in flight held near the configured max', async () => {
  const maxBuffered = 65_536;
  await withBmo({ stream: { max_buffered_bytes: maxBuffered, stall_ms: 300 } }, async (bmo) => {
    const client = await subscribe(bmo, 'from=0');
    await until(() => caughtUp(client), 'caught_up');
    const [serverSocket] = bmo.server.websocketServer.clients;
    (client.ws as unknown as { _socket: Socket })._socket.pause();

    // 1. Write until the server gives up on the client, sampling what it holds for it.
    const next = counter();
    const body = 'x'.repeat(15_000);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, serverSocket.bufferedAmount)), 2);
    let lineBytes = 0;
    for (let round = 0; round < 400 && serverSocket.readyState === WebSocket.OPEN; round++) {
      const [event] = await bmo.pipeline.store.append('teams/flood', Array.from({ length: 40 }, () => message(next(), body)));
      lineBytes = Math.max(lineBytes, Buffer.byteLength(JSON.stringify(event)) + 200);
      peak = Math.max(peak, serverSocket.bufferedAmount);
    }
    await until(() => serverSocket.readyState !== WebSocket.OPEN, 'the server to close the stalled client', 5_000);
    clearInterval(sampler);
    assert.ok(peak > 0, 'the server did buffer for the stalled client');
    assert.ok(peak <= maxBuffered + lineBytes, `held ${peak} bytes for the client; max_buffered_bytes is ${maxBuffered}, one line about ${lineBytes}`);

    // 2. Once it reads again it gets the close frame after what was already on its way.
    (client.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await client.closed;
    assert.is(closed.code, 4008);
    const from = Number(/from=(\d+)/.exec(closed.reason)?.[1]);
    assert.ok(Number.isInteger(from), `reason names the pos to resume from: ${closed.reason}`);
    assert.ok(from <= lastPos(client), `from=${from} is not past what the client got (${lastPos(client)})`);
    assert.ok(from < bmo.pipeline.store.head(), 'the client was behind when it was closed');
    assert.equal(client.events.map((e) => e.pos), Array.from({ length: client.events.length }, (_, i) => i + 1));
    await until(() => bmo.server.websocketServer.clients.size === 0, 'the server to drop the socket');

    // 3. Nothing is lost: resuming from the named pos gets the rest of the log.
    const resumed = await subscribe(bmo, `from=${from}`);
    const head = bmo.pipeline.store.head();
    await until(() => lastPos(resumed) >= head, `pos ${head} after resuming`, 10_000);
    assertSameEvents(eventFrames(resumed), await stored(bmo, from), `from=${from}`);
    resumed.ws.close();
  });
});

test('a posture subscriber that stops reading is held to the bound, and gets the newest posture once it reads again', async () => {
  const maxBuffered = 65_536;
  await withBmo({ stream: { max_buffered_bytes: maxBuffered } }, async (bmo) => {
    for (let t = 0; t < 60; t++) {
      const created = await call(bmo, 'POST', '/v1/teams', { id: `team-${t}`, name: `${t} `.padEnd(200, 'n'), lead: { name: 'Lead' } });
      assert.is(created.status, 201);
    }
    // No stored event passes the filter: every byte sent is a posture frame.
    const client = await subscribe(bmo, 'from=0&filter=system/none&projections=posture');
    await until(() => caughtUp(client) && client.controls.some((c) => c.op === 'projection'), 'caught_up and the first posture');
    const frameBytes = Buffer.byteLength(JSON.stringify(client.controls.find((c) => c.op === 'projection'))) + 2_000;
    const [serverSocket] = bmo.server.websocketServer.clients;
    (client.ws as unknown as { _socket: Socket })._socket.pause();

    // 1. One commit at a time, each a new posture, until well past the point where the kernel buffers are full.
    const next = counter();
    let peak = 0;
    let extra = 0;
    for (let round = 0; round < 3_000 && extra < 150; round++) {
      await bmo.pipeline.store.append(`teams/team-${round % 60}`, [message(next())]);
      peak = Math.max(peak, serverSocket.bufferedAmount);
      if (peak > maxBuffered / 2) extra++;
    }
    assert.is(extra, 150, 'the server buffered for the stalled client');
    assert.ok(peak <= maxBuffered + frameBytes, `held ${peak} bytes of posture frames; max_buffered_bytes is ${maxBuffered}, one frame about ${frameBytes}`);

    // 2. Once it reads again it ends on the posture at the head, and the positions only go forward.
    (client.ws as unknown as { _socket: Socket })._socket.resume();
    const head = bmo.pipeline.store.head();
    await until(() => client.controls.some((c) => c.op === 'projection' && c.pos === head), `the posture at pos ${head}`, 10_000);
    const postures = client.controls.filter((c) => c.op === 'projection');
    assertStrictlyIncreasing(postures.map((c) => c.pos));
    assert.equal(postures.at(-1)!.state, (await call(bmo, 'GET', '/v1/teams/posture')).json);
    assert.is(client.events.length, 0);
    assert.is(client.ws.readyState, WebSocket.OPEN);
    client.ws.close();
  });
});

test('with ping_interval_ms 200 a client that does not answer pings is terminated while one that answers stays connected', async () => {
  await withBmo({ stream: { ping_interval_ms: 200 } }, async (bmo) => {
    const answering = await subscribe(bmo, 'from=0');
    const silent = await subscribe(bmo, 'from=0', { autoPong: false });
    const started = Date.now();
    const closed = await within(silent.closed, 3_000);
    assert.ok(closed, 'the silent client was not closed within 3 s');
    assert.is(closed!.code, 1006, 'terminated, not closed politely');
    assert.ok(Date.now() - started >= 200, 'not before a ping went unanswered');
    assert.ok(silent.pings >= 1, 'the silent client was pinged');
    const pingsBefore = answering.pings;
    await until(() => answering.pings >= pingsBefore + 2, 'two more pings to the answering client');
    assert.is(answering.ws.readyState, WebSocket.OPEN, 'the answering client is still connected');
    assert.ok(answering.pings >= 3, `the answering client was pinged ${answering.pings} times`);
    answering.ws.close();
  });
});

test('an op ping is answered with the head, and an incoming frame over max_payload_bytes closes the connection with 1009', async () => {
  const lines: string[] = [];
  await withBmo({ stream: { max_payload_bytes: 1024 } }, async (bmo) => {
    await appendMessages(bmo, 'teams/a', 3, 3, counter());
    const client = await subscribe(bmo, 'from=0');
    client.ws.send(JSON.stringify({ op: 'ping', pad: 'y'.repeat(900) }));
    await until(() => client.controls.some((c) => c.op === 'pong'), 'the pong');
    assert.is(client.controls.find((c) => c.op === 'pong')!.pos, 3);

    client.ws.send('z'.repeat(2048));
    const closed = await client.closed;
    assert.is(closed.code, 1009);
    const said = lines.map((l) => JSON.parse(l) as { level: number; code?: string; err?: unknown }).filter((l) => l.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    assert.equal(said.map((l) => [l.level, l.err]), [[40, undefined]], 'the client\'s fault is one warning, with no stack');
  }, lines);
});

test('an upgrade without the right token is refused with 401, and ?token= is accepted in place of the header', async () => {
  await withBmo({}, async (bmo) => {
    for (const [query, headers] of [
      ['from=0', {}],
      ['from=0', { authorization: 'Bearer wrong-token-0123456789' }],
      ['from=0&token=wrong-token-0123456789', {}],
      ['from=0', { authorization: 'Basic dXNlcjpwYXNz' }],
    ] as const) {
      const refused = await refusedUpgrade(bmo, query, headers);
      assert.is(refused.status, 401, `${query} ${JSON.stringify(headers)}`);
      assert.is(refused.body.error, 'unauthorized');
    }
    const byQuery = await subscribe(bmo, `from=0&token=${TOKEN}`, { auth: false });
    await until(() => caughtUp(byQuery), 'caught_up with ?token=');
    byQuery.ws.close();
  });
});

test('a cross-origin upgrade is refused with 403 unless allowed_origins lists the origin; the same origin is accepted', async () => {
  await withBmo({}, async (bmo) => {
    const refused = await refusedUpgrade(bmo, 'from=0', { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' });
    assert.is(refused.status, 403);
    assert.is(refused.body.error, 'forbidden');
    assert.match(refused.body.message!, /allowed_origins/);
    const sameOrigin = await subscribe(bmo, 'from=0', { origin: bmo.url });
    await until(() => caughtUp(sameOrigin), 'caught_up from the same origin');
    sameOrigin.ws.close();
  });
  await withBmo({ server: { allowed_origins: ['http://evil.example'] } }, async (bmo) => {
    const listed = await subscribe(bmo, 'from=0', { origin: 'http://evil.example' });
    await until(() => caughtUp(listed), 'caught_up from a listed origin');
    listed.ws.close();
  });
});

test('when the server closes, every subscriber gets a 4001 close frame saying to reconnect with from=', async () => {
  await withBmo({}, async (bmo, closeBmo) => {
    await appendMessages(bmo, 'teams/a', 5, 5, counter());
    const idle = await subscribe(bmo, 'from=0');
    const withPosture = await subscribe(bmo, 'from=0&projections=posture');
    await until(() => caughtUp(idle) && caughtUp(withPosture), 'both subscriptions to catch up');
    const stopped = closeBmo();
    for (const client of [idle, withPosture]) {
      const closed = await within(client.closed, 3_000);
      assert.ok(closed, 'no close frame within 3 s');
      assert.is(closed!.code, 4001);
      assert.match(closed!.reason, /from=/);
    }
    assert.ok(await within(stopped.then(() => true), 3_000), 'bmo.close() did not finish within 3 s');
  });
});

test.run();
