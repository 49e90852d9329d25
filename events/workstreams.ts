import { z } from 'zod';
import { Id, Millis, PathRef, nonEmptyText, text } from './fields.js';

export const PlanKind = z.enum(['custom', 'recipe', 'prompt', 'staged']);
export const Boundary = z.enum([
  'parent-only',
  'child-agent',
  'nanite',
  'team',
  'mesh-a2a-proposal',
  'full-app-shared-workspace',
  'minimal-mcp',
]);
export const WorkstreamStatus = z.enum(['active', 'completed', 'partial', 'blocked', 'superseded', 'unavailable']);
export const Severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);
export const NaniteOutcome = z.enum(['completed', 'failed', 'timeout', 'partial']);

export const workstreamEvents = {
  workstream_created: z.strictObject({
    workstream_id: Id,
    label: nonEmptyText(200),
  }),
  plan_bound: z.strictObject({
    path: PathRef,
    kind: PlanKind,
  }),
  boundary_declared: z.strictObject({
    boundary: Boundary,
    team_id: Id.optional(),
    note: text(1000).optional(),
  }),
  verify_run_recorded: z.strictObject({
    run_id: Id,
    argv: z.array(text(4096)).min(1, 'must name a command').max(256),
    cwd: text(4096),
    exit_code: z.number().int().nullable(),
    signal: text(32).nullable(),
    duration_ms: Millis,
    output_tail: text(65536),
    truncated: z.boolean(),
    timed_out: z.boolean().default(false),
    session_id: Id.optional(),
  }),
  nanite_started: z.strictObject({
    nanite_id: Id,
    session_id: Id,
    prompt: nonEmptyText(8000),
    executor: z.array(text(4096)).min(1).max(64),
  }),
  nanite_completed: z.strictObject({
    nanite_id: Id,
    session_id: Id,
    outcome: NaniteOutcome,
    handoff: text(65536),
    exit_code: z.number().int().nullable(),
    duration_ms: Millis,
    truncated: z.boolean().default(false),
  }),
  finding_recorded: z.strictObject({
    finding_id: Id,
    severity: Severity,
    path: PathRef.optional(),
    text: nonEmptyText(8000),
  }),
  artifact_attached: z.strictObject({
    artifact_id: Id,
    ref: PathRef,
    kind: nonEmptyText(100),
    digest: text(200).optional(),
  }),
  marker_added: z.strictObject({
    marker_id: Id,
    path: PathRef,
    note: nonEmptyText(1000),
  }),
  marker_cleared: z.strictObject({
    marker_id: Id,
    reason: text(500).optional(),
  }),
  status_changed: z.strictObject({
    status: WorkstreamStatus,
    reason: text(1000).optional(),
  }),
} as const;
