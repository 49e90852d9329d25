import { z } from 'zod';
import { Id, text } from './fields.js';

export const RemoteFailureKind = z.enum(['timeout', 'refused', 'dns', '5xx', 'bad_response', 'auth']);

/** How a cleanup attempt ended: it ran, the team it named was not there, or the remote that holds the teams failed. */
export const CleanupOutcome = z.enum(['completed', 'not_found', 'remote_failed']);

/** Host only (no scheme, no path): the remote URL never goes further than this. */
const Host = text(255);

export const systemEvents = {
  cleanup_completed: z.strictObject({
    removed: z.number().int().nonnegative(),
    scope: z.enum(['all', 'single']),
    team_ids: z.array(Id).default([]),
    /** Absent on lines written before outcomes were recorded: those all completed. */
    outcome: CleanupOutcome.default('completed'),
    /** The team a single cleanup named, also when it was not found. */
    team_id: Id.optional(),
  }),
  remote_failed: z.strictObject({
    host: Host,
    kind: RemoteFailureKind,
    operation: text(100),
    consecutive: z.number().int().positive(),
  }),
  remote_degraded: z.strictObject({
    host: Host,
    failures: z.number().int().positive(),
    reason: RemoteFailureKind,
  }),
  remote_recovered: z.strictObject({
    host: Host,
    reason: z.enum(['success', 'operator_reset']),
  }),
  /** A success after failures that never reached degraded: not an arm, it only resets the count durably. */
  remote_succeeded: z.strictObject({
    host: Host,
    after_failures: z.number().int().positive(),
  }),
} as const;
