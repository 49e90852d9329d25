import type {} from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { BmoError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { streamFilter } from '../store/index.js';
import { parseWith } from './request.js';

export interface StreamOptions {
  pipeline: Pipeline;
  posture: () => unknown;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  /** How long a full buffer may wait to drain before the client is closed as too slow. */
  stallMs?: number;
}

/** Close codes a client can act on. */
export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_SHUTDOWN = 4001;
export const CLOSE_BAD_SUBSCRIPTION = 4000;

const Subscribe = z.object({
  from: z.coerce.number().int().min(0).default(0),
  filter: z.string().max(2000).default('*'),
  projections: z.string().max(200).optional(),
  token: z.string().optional(),
});

const BATCH = 512;

/**
 * `/v1/stream?from=<pos>&filter=teams/<id>,workstreams/*&projections=posture`: every stored event
 * after `from`, then live ones, read from the log by position so that there is no gap and no
 * duplicate; bytes in flight are counted from `send` callbacks, and a client whose buffer stays
 * full is closed with the position to resume from.
 */
export async function streamRoutes(app: FastifyInstance, options: StreamOptions): Promise<void> {
  const { pipeline } = options;
  const stallMs = options.stallMs ?? 5_000;
  const sockets = new Set<WebSocket>();

  app.addHook('preClose', (done) => {
    for (const socket of sockets) socket.close(CLOSE_SHUTDOWN, 'server shutting down; reconnect with from=<your last pos>');
    done();
  });

  app.get('/v1/stream', { websocket: true }, (socket, request) => {
    sockets.add(socket);
    let query: z.output<typeof Subscribe>;
    try {
      query = parseWith(Subscribe, request.query, 'query');
    } catch (error) {
      socket.close(CLOSE_BAD_SUBSCRIPTION, (error as Error).message.slice(0, 120));
      return;
    }
    const filter = streamFilter(query.filter);
    if (!filter) {
      socket.close(CLOSE_BAD_SUBSCRIPTION, 'filter: use *, <kind>/* or <kind>/<id>, comma-separated');
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
    let drained: (() => void) | undefined;
    let alive = true;

    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      socket.close(code, reason);
      setTimeout(() => socket.terminate(), 1000).unref();
    };
    const send = (payload: Buffer | string, pos?: number) => {
      const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      inFlight += bytes;
      socket.send(payload, { binary: false }, (error) => {
        inFlight -= bytes;
        if (!error && pos !== undefined && pos > delivered) delivered = pos;
        if (drained && inFlight <= options.maxBufferedBytes / 2) {
          const wake = drained;
          drained = undefined;
          wake();
        }
        if (postureDue && !closed && inFlight <= options.maxBufferedBytes / 2) sendPosture();
      });
    };
    /** Waits for the buffer to drain; a client that does not read is closed. */
    const drain = async (): Promise<void> => {
      if (inFlight <= options.maxBufferedBytes) return;
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
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, options.pingIntervalMs);
    socket.on('pong', () => (alive = true));

    let unsubscribePosture: (() => void) | undefined;
    let lastPosturePos = -1;
    let postureDue = false;
    const sendPosture = () => {
      // A snapshot supersedes the one before: while the buffer is full, only the newest is sent, once it drains.
      if (inFlight > options.maxBufferedBytes) {
        postureDue = true;
        return;
      }
      postureDue = false;
      const snapshot = options.posture() as { pos: number };
      if (snapshot.pos === lastPosturePos) return;
      lastPosturePos = snapshot.pos;
      send(JSON.stringify({ op: 'projection', name: 'posture', pos: snapshot.pos, state: snapshot }));
    };
    if (wantsPosture) {
      sendPosture();
      unsubscribePosture = pipeline.hub.subscribe(() => sendPosture());
    }

    socket.on('close', () => {
      closed = true;
      sockets.delete(socket);
      clearInterval(ping);
      unsubscribePosture?.();
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
          for (const { envelope, line } of events) {
            if (closed) return;
            send(line.subarray(0, line.length - 1), envelope.pos);
            // Per event, not per batch: a batch of large lines would otherwise overshoot the bound by up to BATCH lines.
            await drain();
          }
          pos = next;
        }
      } catch (error) {
        request.log.error({ err: error }, 'stream reader failed');
        close(1011, error instanceof BmoError ? error.message.slice(0, 120) : 'internal error; reconnect with from=<your last pos>');
      }
    })();
  });
}
