import type { DomainEvent, RemoteFailureKind } from '../../events/index.js';
import { DEGRADED_AFTER, evolveRemote, type RemoteHealth } from '../../projections/remote.js';
import type { Entity } from './entity.js';

export type RemoteCommand =
  | { type: 'record_failure'; host: string; kind: RemoteFailureKind; operation: string }
  | { type: 'record_success'; host: string }
  | { type: 'reset'; host: string };

/**
 * Every failure is recorded; the third consecutive one arms `remote_degraded` exactly once; the
 * next success arms `remote_recovered` exactly once. No retries: this only keeps score.
 */
export function decideRemote(command: RemoteCommand, health: RemoteHealth | undefined): DomainEvent[] {
  const degraded = health?.degraded ?? false;
  const consecutive = health?.consecutive_failures ?? 0;
  switch (command.type) {
    case 'record_failure': {
      const failed: DomainEvent = { type: 'remote_failed', data: { host: command.host, kind: command.kind, operation: command.operation, consecutive: consecutive + 1 } };
      if (degraded || consecutive + 1 < DEGRADED_AFTER) return [failed];
      return [failed, { type: 'remote_degraded', data: { host: command.host, failures: consecutive + 1, reason: command.kind } }];
    }
    case 'record_success':
      if (degraded) return [{ type: 'remote_recovered', data: { host: command.host, reason: 'success' } }];
      if (consecutive > 0) return [{ type: 'remote_succeeded', data: { host: command.host, after_failures: consecutive } }];
      return [];
    case 'reset':
      return degraded || consecutive > 0 ? [{ type: 'remote_recovered', data: { host: command.host, reason: 'operator_reset' } }] : [];
  }
}

export const remoteEntity: Entity<RemoteHealth, RemoteCommand> = {
  kind: 'system',
  evolve: evolveRemote,
  decide: (command, state) => decideRemote(command, state),
};
