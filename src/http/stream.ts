import type {} from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Pipeline } from '../pipeline/pipeline.js';
import { badPattern, streamFilter } from '../store/index.js';
import { credentialLapse } from '../../projections/credentials.js';
import { principalOf, streamAllowed } from './access.js';
import type { StreamObserver } from '../telemetry/metrics.js';
import { parseWith } from './request.js';
import { queryInt } from './schemas.js';
import { CLOSE_BAD_SUBSCRIPTION, CLOSE_CREDENTIAL_LAPSED, StreamSubscription, type SubscriberSocket } from './subscription.js';

export { CLOSE_BAD_SUBSCRIPTION, CLOSE_CREDENTIAL_LAPSED, CLOSE_SHUTDOWN, CLOSE_SLOW_CONSUMER, CLOSE_TOO_MANY_FRAMES } from './subscription.js';

export interface StreamOptions {
  pipeline: Pipeline;
  /** The posture snapshot as the subscriber's credential may see it. */
  posture: (request: FastifyRequest) => { pos: number };
  pingIntervalMs: number;
  maxBufferedBytes: number;
  /** How long a full buffer may wait to drain before the client is closed as too slow. */
  stallMs?: number;
  maxFramesPerSecond?: number;
  observer?: StreamObserver;
}

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

const TEXT = { binary: false } as const;

/** A `ws` socket as a subscription sees it; the TCP socket under it is corked so that a turn's frames go out in one write. */
function subscriberSocket(socket: WebSocket): SubscriberSocket {
  const tcp = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  return {
    send: (payload, done) => socket.send(payload, TEXT, done),
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
    ping: () => socket.ping(),
    cork: tcp && (() => tcp.cork()),
    uncork: tcp && (() => tcp.uncork()),
  };
}

/**
 * `/v1/stream?from=<pos>&filter=teams/<id>,workstreams/*&projections=posture`: checks the
 * subscription, then hands the socket to a `StreamSubscription`.
 */
export async function streamRoutes(app: FastifyInstance, options: StreamOptions): Promise<void> {
  const { pipeline } = options;
  const subscriptions = new Set<StreamSubscription>();
  /** Each subscription's credential: a revoked one's subscriptions close at once. */
  const credentialOf = new Map<StreamSubscription, string>();

  app.addHook('preClose', (done) => {
    for (const subscription of subscriptions) subscription.shutdown();
    done();
  });
  const unsubscribeRevocations = pipeline.hub.subscribe((batch) => {
    for (const { envelope } of batch) {
      if (envelope.type !== 'credential_revoked') continue;
      for (const [subscription, credentialId] of credentialOf) {
        if (credentialId === envelope.data.credential_id) subscription.close(CLOSE_CREDENTIAL_LAPSED, `credential ${credentialId} was revoked; connect with another token`);
      }
    }
  });
  app.addHook('onClose', (_app, done) => {
    unsubscribeRevocations();
    done();
  });

  app.get('/v1/stream', { websocket: true }, (socket, request) => {
    const principal = principalOf(request);
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
    const subscription = new StreamSubscription(subscriberSocket(socket), {
      source: pipeline,
      from: query.from,
      filter,
      posture: (query.projections ?? '').split(',').includes('posture') ? () => options.posture(request) : undefined,
      maxBufferedBytes: options.maxBufferedBytes,
      stallMs: options.stallMs ?? 5_000,
      pingIntervalMs: options.pingIntervalMs,
      maxFramesPerSecond: options.maxFramesPerSecond ?? 20,
      clock: pipeline.clock,
      onError: (error) => request.log.error({ err: error }, 'stream reader failed'),
      lapsed: (): string | undefined => {
        const credential = principal.role !== 'admin' ? pipeline.readModels.credentials.credentials.get(principal.credential_id) : undefined;
        const lapse = credential && credentialLapse(credential, pipeline.now());
        return lapse ? `credential ${principal.credential_id} ${lapse.slice(0, 60)}` : undefined;
      },
    });
    subscriptions.add(subscription);
    const unobserve = options.observer?.opened(() => subscription.bytesInFlight);
    if (principal.role !== 'admin') credentialOf.set(subscription, principal.credential_id);
    socket.on('pong', () => subscription.pong());
    socket.on('message', (data) => subscription.receive(data as Buffer));
    socket.on('close', () => {
      subscriptions.delete(subscription);
      credentialOf.delete(subscription);
      unobserve?.();
      subscription.ended();
    });
    void subscription.start();
  });
}
