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
export type PlanKind = z.output<typeof PlanKind>;
export type WorkstreamStatus = z.output<typeof WorkstreamStatus>;
export type Severity = z.output<typeof Severity>;
export type NaniteOutcome = z.output<typeof NaniteOutcome>;

/** Where the CLI stood when it wrote: the repository's root, branch (null when detached), HEAD and whether the tree had changes. */
export const GitContext = z.strictObject({
  root: text(4096),
  branch: text(255).nullable(),
  commit: z.string().regex(/^[0-9a-f]{7,64}$/, 'must be a commit hash'),
  dirty: z.boolean(),
});
export type GitContext = z.output<typeof GitContext>;

/** A recipe step's name: what `bmo workstream verify <id> <step>` runs. */
export const StepName = Id;
export const RecipeArgv = z.array(text(4096)).min(1, 'must name a command').max(256);

export const workstreamEvents = {
  workstream_created: z.strictObject({
    workstream_id: Id,
    label: nonEmptyText(200),
    goal: text(4000).optional(),
    git: GitContext.optional(),
  }),
  plan_bound: z.strictObject({
    path: PathRef,
    kind: PlanKind,
    git: GitContext.optional(),
  }),
  recipe_step_set: z.strictObject({
    step: StepName,
    argv: RecipeArgv,
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
    git: GitContext.optional(),
    /** The recipe step this run was, when `bmo workstream verify` ran it. */
    step: StepName.optional(),
  }),
  nanite_started: z.strictObject({
    nanite_id: Id,
    session_id: Id,
    prompt: nonEmptyText(8000),
    executor: z.array(text(4096)).min(1).max(64),
    git: GitContext.optional(),
    /** The process running the lane: when it is gone and the lane never reported, the lane is closed as lost. */
    runner: z.strictObject({ pid: z.number().int().positive(), host: text(255), start_ticks: z.number().int().nonnegative().optional() }).optional(),
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
    /** Completed over a preflight that was not ready: the checks that were open, as the reason says why. */
    forced_over: z.array(text(64)).optional(),
  }),
} as const;
