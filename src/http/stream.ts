import type {} from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Timer } from '../clock.js';
import { BmoError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { badPattern, streamFilter, type StoredEvent } from '../store/index.js';
import { credentialLapse } from '../../projections/credentials.js';
import { principalOf, streamAllowed } from './access.js';
import type { StreamObserver } from '../telemetry/metrics.js';
import { parseWith } from './request.js';
import { queryInt } from './schemas.js';

export interface StreamOptions {
  pipeline: Pipeline;
  /** The posture snapshot as the subscriber's credential may see it. */
  posture: (request: FastifyRequest) => unknown;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  /** How long a full buffer may wait to drain before the client is closed as too slow. */
  stallMs?: number;
  observer?: StreamObserver;
}

/** Close codes a client can act on. */
export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_SHUTDOWN = 4001;
export const CLOSE_BAD_SUBSCRIPTION = 4000;
export const CLOSE_CREDENTIAL_LAPSED = 4003;

export const Subscribe = z.strictObject({
  from: queryInt(0).default(0),
  filter: z.string().max(2000).default('*'),
  projections: z
    .string()
    .max(200)
    .refine((names) => names.split(',').every((name) => PROJECTIONS.has(name.trim())), 'the projections to subscribe to: posture')
    .optional(),
  token: z.string().optional(),
});
const PROJECTIONS = new Set(['posture']);

const BATCH = 512;
const TEXT = { binary: false } as const;

/** How often a posture subscriber's snapshot is checked for changes no event made (liveness moves with the clock). */
const POSTURE_TICK_MS = 1000;

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
const frameBytes = (length: number) => length + (length < 126 ? 2 : length < 65_536 ? 4 : 10);

/**
 * `/v1/stream?from=<pos>&filter=teams/<id>,workstreams/*&projections=posture`: every stored event
 * after `from`, then live ones, read from the log by position so that there is no gap and no
 * duplicate; bytes in flight are counted from `send` callbacks (one per batch of frames, on its last
 * frame), and a client whose buffer stays full is closed with the position to resume from.
 */
export async function streamRoutes(app: FastifyInstance, options: StreamOptions): Promise<void> {
  const { pipeline } = options;
  const stallMs = options.stallMs ?? 5_000;
  const sockets = new Set<WebSocket>();
  /** Each socket's credential: a revoked one's sockets close at once. */
  const credentialOf = new Map<WebSocket, string>();

  app.addHook('preClose', (done) => {
    for (const socket of sockets) socket.close(CLOSE_SHUTDOWN, 'server shutting down; reconnect with from=<your last pos>');
    done();
  });
  const unsubscribeRevocations = pipeline.hub.subscribe((batch) => {
    for (const { envelope } of batch) {
      if (envelope.type !== 'credential_revoked') continue;
      for (const [socket, credentialId] of credentialOf) {
        if (credentialId === envelope.data.credential_id) socket.close(CLOSE_CREDENTIAL_LAPSED, `credential ${credentialId} was revoked; connect with another token`);
      }
    }
  });
  app.addHook('onClose', (_app, done) => {
    unsubscribeRevocations();
    done();
  });

  app.get('/v1/stream', { websocket: true }, (socket, request) => {
    sockets.add(socket);
    const principal = principalOf(request);
    if (principal.role !== 'admin') credentialOf.set(socket, principal.credential_id);
    if (options.observer) socket.once('close', options.observer.closed);
    let query: z.output<typeof Subscribe>;
    try {
      query = parseWith(Subscribe, request.query, 'query');
    } catch (error) {
      socket.close(CLOSE_BAD_SUBSCRIPTION, (error as Error).message.slice(0, 120));
      return;
    }
    const asked = streamFilter(query.filter);
    // What it asks for, within what its credential may see.
    const filter = asked && principal.role !== 'admin' ? (stream: string) => asked(stream) && streamAllowed(pipeline.readModels, principal, stream) : asked;
    if (!filter) {
      socket.close(CLOSE_BAD_SUBSCRIPTION, `filter: "${badPattern(query.filter)!.slice(0, 40)}" is not a stream pattern; use *, <kind>/* or <kind>/<id>`);
      return;
    }
    if (query.from > pipeline.store.head()) {
      socket.close(CLOSE_BAD_SUBSCRIPTION, `from=${query.from} is past the last position (${pipeline.store.head()}); resume from a position you received`);
      return;
    }
    const wantsPosture = (query.projections ?? '').split(',').includes('posture');

    let closed = false;
    let inFlight = 0;
    let delivered = query.from;
    /** Where the reader has got to in the log: every event up to here that the filter takes has been sent. */
    let readTo = query.from;
    let drained: (() => void) | undefined;
    let alive = true;
    const unobserve = options.observer?.opened(() => inFlight);

    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      socket.close(code, reason);
      setTimeout(() => socket.terminate(), 1000).unref();
    };
    const max = options.maxBufferedBytes;
    /** A send completed (or failed): `bytes` leave the count, and `pos` (if any) was handed to the kernel. */
    const settle = (bytes: number, pos: number | undefined, error: Error | undefined) => {
      inFlight -= bytes;
      if (!error && pos !== undefined && pos > delivered) delivered = pos;
      if (drained && inFlight <= max / 2) {
        const wake = drained;
        drained = undefined;
        wake();
      }
      if (postureDue && !closed && inFlight <= max / 2) sendPosture();
    };
    // Frames sent in one turn go out in one write: the TCP socket under the ws is corked until the next tick.
    const tcp = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      tcp!.uncork();
    };
    const cork = () => {
      if (corked || !tcp) return;
      corked = true;
      tcp.cork();
      process.nextTick(uncork);
    };
    const send = (payload: Buffer | string, pos?: number) => {
      const bytes = frameBytes(typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
      inFlight += bytes;
      cork();
      socket.send(payload, TEXT, (error) => settle(bytes, pos, error));
    };
    /**
     * Sends the stored lines `events[from..to)` with one send callback, on the last frame (ws calls
     * them in order): its bytes stay counted until the whole batch was written.
     */
    const sendBatch = (events: StoredEvent[], from: number, to: number, bytes: number) => {
      inFlight += bytes;
      cork();
      for (let i = from; i < to - 1; i++) {
        const { line } = events[i];
        socket.send(line.subarray(0, line.length - 1), TEXT);
      }
      const last = events[to - 1];
      socket.send(last.line.subarray(0, last.line.length - 1), TEXT, (error) => settle(bytes, last.envelope.pos, error));
    };
    /** Waits for the buffer to drain; a client that does not read is closed. */
    const drain = async (): Promise<void> => {
      if (inFlight <= max) return;
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), stallMs);
        drained = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!ok) close(CLOSE_SLOW_CONSUMER, `slow consumer: more than ${options.maxBufferedBytes} bytes unread; resume with from=${delivered}`);
    };

    const ping = setInterval(() => {
      const credential = credentialOf.has(socket) ? pipeline.readModels.credentials.credentials.get(principal.credential_id) : undefined;
      const lapse = credential && credentialLapse(credential, pipeline.now());
      if (lapse) return close(CLOSE_CREDENTIAL_LAPSED, `credential ${principal.credential_id} ${lapse.slice(0, 60)}`);
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, options.pingIntervalMs);
    socket.on('pong', () => (alive = true));

    let unsubscribePosture: (() => void) | undefined;
    let postureTimer: Timer | undefined;
    let lastPosture: string | undefined;
    let postureDue = false;
    const sendPosture = () => {
      // A snapshot supersedes the one before: while the buffer is full, only the newest is sent, once it drains.
      // It goes after the events it reflects, never before: the stream stays in pos order.
      const snapshot = options.posture(request) as { pos: number };
      if (inFlight > max || snapshot.pos > readTo) {
        postureDue = true;
        return;
      }
      postureDue = false;
      const frame = postureFrame(snapshot);
      if (frame === lastPosture) return;
      lastPosture = frame;
      send(frame);
    };
    if (wantsPosture) {
      sendPosture();
      // After every commit, and on a timer for what moves with the clock alone (a session lapsing, a claim going stale).
      unsubscribePosture = pipeline.hub.subscribe(() => sendPosture());
      postureTimer = pipeline.clock.every(POSTURE_TICK_MS, sendPosture, { unref: true });
    }

    socket.on('close', () => {
      closed = true;
      sockets.delete(socket);
      credentialOf.delete(socket);
      unobserve?.();
      clearInterval(ping);
      unsubscribePosture?.();
      postureTimer?.cancel();
      drained?.();
    });
    socket.on('message', (data) => {
      let message: { op?: string } | undefined;
      try {
        message = JSON.parse(String(data));
      } catch {
        message = undefined;
      }
      if (message?.op === 'ping') send(JSON.stringify({ op: 'pong', pos: pipeline.store.head() }));
    });

    void (async () => {
      let pos = query.from;
      let caughtUp = false;
      try {
        while (!closed) {
          if (pos >= pipeline.store.head()) {
            if (!caughtUp) {
              caughtUp = true;
              send(JSON.stringify({ op: 'caught_up', pos }));
            }
            await pipeline.hub.waitPast(pos);
            if (pipeline.hub.stopped) {
              close(CLOSE_SHUTDOWN, 'server shutting down; reconnect with from=<your last pos>');
              return;
            }
            continue;
          }
          const { events, next } = await pipeline.store.readAll(pos, { filter, limit: BATCH });
          for (let i = 0; i < events.length; ) {
            if (closed) return;
            if (inFlight > max) {
              await drain();
              continue;
            }
            // As many lines as fit under the bound, and at least one: what is held stays within max + one line.
            // A batch is at most a quarter of the bound, so that earlier batches complete (and wake a drain) while later ones wait.
            const room = Math.min(max - inFlight, max / 4);
            let end = i;
            let bytes = 0;
            do bytes += frameBytes(events[end++].line.length - 1);
            while (end < events.length && bytes + frameBytes(events[end].line.length - 1) <= room);
            sendBatch(events, i, end, bytes);
            i = end;
          }
          pos = next;
          readTo = pos;
          if (postureDue && !closed) sendPosture();
        }
      } catch (error) {
        request.log.error({ err: error }, 'stream reader failed');
        close(1011, error instanceof BmoError ? error.message.slice(0, 120) : 'internal error; reconnect with from=<your last pos>');
      }
    })();
  });
}
