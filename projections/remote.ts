import type { Envelope } from '../events/index.js';
import type { Projection } from './types.js';

/** The remote teams server's health as the `system/remote` log tells it. */
export interface RemoteHealth {
  host?: string;
  degraded: boolean;
  reason?: string;
  consecutive_failures: number;
  total_failures: number;
  last_failure_at?: string;
  last_failure_kind?: string;
  degraded_since?: string;
  recovered_at?: string;
  version: number;
}

export const REMOTE_STREAM_ID = 'remote';
export const DEGRADED_AFTER = 3;

export function initialRemoteHealth(): RemoteHealth {
  return { degraded: false, consecutive_failures: 0, total_failures: 0, version: 0 };
}

/**
 * The sticky degraded state machine: failures count up, the third consecutive one sets
 * `degraded` (with its reason), and only a success or an operator reset clears it.
 */
export function evolveRemote(state: RemoteHealth | undefined, event: Envelope): RemoteHealth {
  const health = state ?? initialRemoteHealth();
  switch (event.type) {
    case 'remote_failed':
      health.host = event.data.host;
      health.consecutive_failures = event.data.consecutive;
      health.total_failures++;
      health.last_failure_at = event.at;
      health.last_failure_kind = event.data.kind;
      break;
    case 'remote_degraded':
      health.degraded = true;
      health.reason = `${event.data.failures} consecutive failures, the last: ${event.data.reason}`;
      health.degraded_since = event.at;
      break;
    case 'remote_recovered':
    case 'remote_succeeded':
      health.degraded = false;
      health.reason = undefined;
      health.degraded_since = undefined;
      health.consecutive_failures = 0;
      if (event.type === 'remote_recovered') health.recovered_at = event.at;
      break;
    default:
      return health;
  }
  health.version = event.seq;
  return health;
}

export const remoteHealthProjection: Projection<RemoteHealth> = {
  name: 'remote-health',
  version: 1,
  handles: ['system'],
  initialState: initialRemoteHealth,
  // One stream: the part that folded it holds it all.
  merge: (state, part) => (part.version > state.version ? part : state),
  evolve: (state, event) => (event.stream === `system/${REMOTE_STREAM_ID}` ? evolveRemote(state, event) : state),
};
