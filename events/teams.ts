import { z } from 'zod';
import { Id, Millis, Timestamp, nonEmptyText, text } from './fields.js';

/** Member ids are ids; `"*"` addresses every member of the team. */
export const Recipient = z.union([Id, z.literal('*')]);

export const TeamRole = z.enum(['lead', 'member']);

export const teamEvents = {
  team_created: z.strictObject({
    team_id: Id,
    name: nonEmptyText(200),
    goal: text(4000).optional(),
    lead_member_id: Id,
    lead_session_id: Id.optional(),
  }),
  member_joined: z.strictObject({
    member_id: Id,
    name: nonEmptyText(200),
    role: TeamRole,
    session_id: Id.optional(),
  }),
  /** A member acts from another session now (an agent restarted): its liveness, and a lead's, follow the new one. */
  member_session_moved: z.strictObject({
    member_id: Id,
    session_id: Id,
    previous_session_id: Id.optional(),
  }),
  member_left: z.strictObject({
    member_id: Id,
    reason: text(500).optional(),
  }),
  task_created: z.strictObject({
    task_id: Id,
    title: nonEmptyText(500),
    description: text(8000).optional(),
    blocked_by: z.array(Id).max(64).default([]),
  }),
  task_claimed: z.strictObject({
    task_id: Id,
    member_id: Id,
    session_id: Id.optional(),
    fencing_token: z.number().int().positive(),
    lease_ms: Millis,
    lease_expires_at: Timestamp,
    /** The same claim's lease renewed (a heartbeat of its session): same holder, same token. Absent on a claim, and in logs written before it was recorded. */
    renewal: z.literal(true).optional(),
  }),
  task_released: z.strictObject({
    task_id: Id,
    member_id: Id,
    fencing_token: z.number().int().positive(),
  }),
  task_reclaimed: z.strictObject({
    task_id: Id,
    member_id: Id,
    fencing_token: z.number().int().positive(),
    reason: z.enum(['lease_expired', 'member_left', 'session_gone']),
  }),
  task_updated: z.strictObject({
    task_id: Id,
    title: nonEmptyText(500).optional(),
    description: text(8000).optional(),
    blocked_by: z.array(Id).max(64).optional(),
    note: text(2000).optional(),
  }),
  task_completed: z.strictObject({
    task_id: Id,
    member_id: Id,
    fencing_token: z.number().int().positive(),
    result: text(8000).optional(),
  }),
  task_failed: z.strictObject({
    task_id: Id,
    member_id: Id,
    fencing_token: z.number().int().positive(),
    error: text(8000).optional(),
  }),
  message_sent: z.strictObject({
    message_id: Id,
    from: Id,
    to: Recipient,
    body: nonEmptyText(16000),
  }),
  message_read: z.strictObject({
    message_id: Id,
    member_id: Id,
  }),
  team_shutdown: z.strictObject({
    reason: text(500).optional(),
  }),
  team_removed: z.strictObject({
    reason: z.enum(['delete', 'cleanup']),
  }),
} as const;
