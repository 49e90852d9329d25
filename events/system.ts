import { z } from 'zod';
import { Id, text } from './fields.js';

export const RemoteFailureKind = z.enum(['timeout', 'refused', 'dns', '5xx', 'bad_response', 'auth']);
export type RemoteFailureKind = z.output<typeof RemoteFailureKind>;

/** How a cleanup attempt ended: it ran, the team it named was not there, or the remote that holds the teams failed. */
export const CleanupOutcome = z.enum(['completed', 'not_found', 'remote_failed']);

/** What a credential may do: everything, act as one member and session, or read. */
export const CredentialRole = z.enum(['admin', 'agent', 'observer']);
export type CredentialRole = z.output<typeof CredentialRole>;

/** What a cleanup covers: every orphan team, or the one it names. */
export const CleanupScope = z.enum(['all', 'single']);

/**
 * Where a credential acts: its teams (`*`: for an agent, the teams it creates or joins; for an
 * observer, every team) and the workstreams it may write besides those it creates.
 */
export const CredentialScope = z.strictObject({
  teams: z.union([z.literal('*'), z.array(Id).max(256)]).default('*'),
  workstreams: z.array(Id).max(256).default([]),
});

/** Host only (no scheme, no path): the remote URL never goes further than this. */
const Host = text(255);

/** A stream name an operation targets: `teams/<id>` or `sessions/<id>`. */
const Target = text(80);

export const OperationKind = z.enum(['cleanup', 'heartbeat', 'lease_sweep']);

export const systemEvents = {
  /** The intent of an operation over several streams, recorded before any of them is written (system/operations). */
  operation_started: z.strictObject({
    operation_id: text(64),
    kind: OperationKind,
    targets: z.array(Target),
    /** The Idempotency-Key and request hash of the request that started it, for its retry and for finishing it. */
    key: text(200).optional(),
    request_hash: text(64).optional(),
    scope: z.enum(['all', 'single']).optional(),
    team_id: Id.optional(),
    session_id: Id.optional(),
    lease_ms: z.number().int().positive().optional(),
    /** The instance that runs it: another finishes it only once that one is gone (operations written before it have none). */
    instance: text(64).optional(),
  }),
  operation_completed: z.strictObject({
    operation_id: text(64),
  }),
  cleanup_completed: z.strictObject({
    removed: z.number().int().nonnegative(),
    scope: CleanupScope,
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
  /** Only a hash of the secret: the token (`bmo_<credential_id>_<secret>`) is shown once, when issued. */
  credential_issued: z.strictObject({
    credential_id: Id,
    name: text(200),
    role: CredentialRole,
    member_id: Id.optional(),
    session_id: Id.optional(),
    scope: CredentialScope,
    secret_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    expires_at: z.iso.datetime({ offset: true }).optional(),
  }),
  credential_revoked: z.strictObject({
    credential_id: Id,
    reason: text(500).default('revoked'),
  }),
} as const;
