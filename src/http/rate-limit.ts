import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { BmoError } from '../errors.js';
import { principalOf } from './access.js';

export interface LimitsOptions {
  /** Requests a credential may make per window. */
  max_requests: number;
  window_ms: number;
  /** The admin token is not counted (the CLI, an operator's scripts). */
  exempt_admin: boolean;
  /** Credentials counted at once; past it the least recently seen is forgotten. */
  max_tracked: number;
}

interface Window {
  count: number;
  started: number;
}

/**
 * A fixed window per credential, on the server's clock (tests advance their own): the plugin's
 * own store reads Date.now(). Bounded: past `maxTracked` credentials the oldest window goes.
 */
function clockStore(clock: Clock, maxTracked: number): new () => FastifyRateLimitStore {
  const windows = new Map<string, Window>();
  return class ClockStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const now = clock.now().getTime();
      let window = windows.get(key);
      if (!window || window.started + timeWindow <= now) window = { count: 0, started: now };
      window.count++;
      // Most recently seen last: the first key is the one to forget.
      windows.delete(key);
      windows.set(key, window);
      if (windows.size > maxTracked) windows.delete(windows.keys().next().value!);
      callback(null, { current: window.count, ttl: window.started + timeWindow - now });
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

/** `[limits]`: each credential's requests per window; past them `429` with Retry-After. Registered before the routes it counts. */
export async function registerRateLimits(app: FastifyInstance, limits: LimitsOptions, clock: Clock): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: limits.max_requests,
    timeWindow: limits.window_ms,
    store: clockStore(clock, limits.max_tracked) as never,
    keyGenerator: (request: FastifyRequest) => principalOf(request).credential_id,
    allowList: (request: FastifyRequest) => limits.exempt_admin && principalOf(request).role === 'admin',
    errorResponseBuilder: (request, context) =>
      new BmoError('rate_limited', `credential ${principalOf(request).credential_id} made more than ${context.max} requests in ${limits.window_ms / 1000} s ([limits] in bmo.toml); retry after ${context.after}`, {
        details: { retry_after_s: Math.ceil(context.ttl / 1000) },
      }),
  });
}
