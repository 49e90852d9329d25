import { z } from 'zod';
import { Id, Millis, text } from './fields.js';

export const sessionEvents = {
  session_started: z.strictObject({
    session_id: Id,
    agent: text(200).optional(),
    parent_session_id: Id.optional(),
    lease_ms: Millis.min(1000, 'must be at least 1000 ms'),
  }),
  session_heartbeat: z.strictObject({
    lease_ms: Millis.min(1000, 'must be at least 1000 ms').optional(),
    /** The teams whose claims it renews, named before any is renewed: a keyed retry renews what is left of them. */
    renews: z.array(Id).optional(),
  }),
  session_ended: z.strictObject({
    reason: text(500).optional(),
  }),
} as const;
