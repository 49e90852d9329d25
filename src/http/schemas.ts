/**
 * One zod schema per request shape: the HTTP routes parse with these, the MCP tools derive their
 * input schemas from them, and the OpenAPI document is built from them. A field is declared here once.
 */
import { z } from 'zod';
import { Boundary, CleanupScope, CredentialRole, GitContext, Id, PlanKind, Recipient, TeamRole, WorkstreamStatus } from '../../events/index.js';
import { nonEmptyText, text } from '../../events/fields.js';
import { workstreamEvents } from '../../events/workstreams.js';
import { RING_CAPACITY } from '../../projections/recent.js';
import { DEFAULT_LEASE_MS } from '../domain/teams.js';
import { AsOfParam } from '../pipeline/as-of.js';
import { badPattern } from '../store/filter.js';

/**
 * A whole number in a query string, from `min` (to `max`): `abc`, `0x10`, `1e1`, `1.5` and an empty
 * value are refused, saying what is wanted (plain coercion made them NaN, 16, 10, … or 0).
 */
export function queryInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  const wanted = wantedNumber(min, max);
  return z
    .string()
    .regex(/^\d{1,16}$/, wanted)
    .transform(Number)
    .refine((n) => n >= min && n <= max, wanted);
}

const wantedNumber = (min: number, max: number) => `must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`}`;

/** A whole number given as a JSON number (a tool's argument) or in a query string (an HTTP route's). */
export function count(min: number, max = Number.MAX_SAFE_INTEGER) {
  const wanted = wantedNumber(min, max);
  return z.union([z.number().int(wanted).min(min, wanted).max(max, wanted), queryInt(min, max)], { error: wanted });
}

/** Yes or no: a JSON boolean (a tool's argument) or `true`/`false` in a query string. */
export const Flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' });

/** `limit` and the opaque `cursor` of a collection route's query (paging.ts reads them). */
export const PageQuery = {
  limit: count(1, 1000).default(100).describe('at most this many in one answer'),
  cursor: z.string().max(500).optional().describe("the next_cursor of the page before, as it came (a cursor of another list is refused)"),
};

/** Ids that name routes under /v1/teams and so cannot name a team. */
export const RESERVED_TEAM_IDS = new Set(['posture', 'events', 'cleanup', 'remote']);

export const TeamId = Id.refine((id) => !RESERVED_TEAM_IDS.has(id), 'is reserved for a route; pick another team id');
export const Lease = z.number().int().min(1000, 'must be at least 1000 ms').max(24 * 3600_000, 'must be at most 24 h').describe('milliseconds the lease lasts unless renewed (a heartbeat of its session renews it)');
export const FencingToken = z.number().int().positive().describe('the fencing_token the claim answered: only the current holder has it');
export const TaskStatus = z.enum(['open', 'claimed', 'completed', 'failed']);

export const CreateTeam = z.strictObject({
  id: TeamId.optional(),
  name: nonEmptyText(200),
  goal: text(4000).optional(),
  lead: z.strictObject({ member_id: Id.default('lead'), name: nonEmptyText(200), session_id: Id.optional() }),
});
export const JoinTeam = z.strictObject({ member_id: Id.optional(), name: nonEmptyText(200), role: TeamRole.default('member'), session_id: Id.optional() });
export const LeaveTeam = z.strictObject({ reason: text(500).optional() }).optional();
export const Blockers = z
  .array(Id)
  .max(64)
  .refine((ids) => new Set(ids).size === ids.length, 'names a task more than once')
  .describe('task ids that must be completed before this one can be claimed');
export const CreateTask = z.strictObject({ task_id: Id.optional(), title: nonEmptyText(500), description: text(8000).optional(), blocked_by: Blockers.default([]) });
export const UpdateTask = z.strictObject({ title: nonEmptyText(500).optional(), description: text(8000).optional(), blocked_by: Blockers.optional(), note: text(2000).optional() });
export const ClaimTask = z.strictObject({ member_id: Id, session_id: Id.optional(), lease_ms: Lease.default(DEFAULT_LEASE_MS) });
export const HeldTask = z.strictObject({ member_id: Id, fencing_token: FencingToken });
export const CompleteTask = HeldTask.extend({ result: text(8000).optional() });
export const FailTask = HeldTask.extend({ error: text(8000).optional() });
export const SendMessage = z.strictObject({ message_id: Id.optional(), from: Id, to: Recipient.describe('a member id, or "*" for every member'), body: nonEmptyText(16000) });
export const ReadMessage = z.strictObject({ member_id: Id });
export const Shutdown = z.strictObject({ reason: text(500).optional() }).optional();
export const ListTeams = z.strictObject({ all: Flag.optional(), ...PageQuery });
export const ListTasks = z.strictObject({ ready: Flag.optional(), status: TaskStatus.optional(), as_of: AsOfParam.optional(), ...PageQuery });
export const Inbox = z.strictObject({ unread: Flag.optional(), as_of: AsOfParam.optional(), ...PageQuery });
export const ListSessions = z.strictObject({ ...PageQuery });
/** `POST /v1/teams/cleanup`: here and on a forwarding server, which audits an attempt the remote never answered. */
export const Cleanup = z
  .strictObject({ scope: CleanupScope.default('all'), team_id: Id.optional() })
  .refine((c) => (c.scope === 'single') === (c.team_id !== undefined), { message: 'give team_id with scope "single", and only then', path: ['team_id'] });
export const TimelineQuery = z.strictObject({ ...PageQuery });
export const RecentQuery = z.strictObject({ limit: count(1, RING_CAPACITY).default(16) });

export const StartSession = z.strictObject({ session_id: Id.optional(), agent: text(200).optional(), parent_session_id: Id.optional(), lease_ms: Lease.optional() });
export const Heartbeat = z.strictObject({ lease_ms: Lease.optional() }).optional();
export const EndSession = z.strictObject({ reason: text(500).optional() }).optional();

/** A log pages by seq: the cursor holds the last seq of the page before. */
export const ReadEventsQuery = z.strictObject({ from_seq: queryInt(1).default(1), ...PageQuery });
/** The most events one read across the log answers; `next` says where the following read resumes. */
export const EVENTS_PAGE_MAX = 1000;
export const EventsSince = z.strictObject({
  from_pos: count(0).default(0).describe('the events after this position (0: from the start; at most the head)'),
  filter: z
    .string()
    .max(2000)
    .check((ctx) => {
      const bad = badPattern(ctx.value);
      if (bad !== undefined) ctx.issues.push({ code: 'custom', input: ctx.value, message: `"${bad}" is not a stream pattern; use *, <kind>/* or <kind>/<id>, comma-separated` });
    })
    .default('*')
    .describe('streams, comma-separated: *, <kind>/* or <kind>/<id> (teams/docs, workstreams/*)'),
  limit: count(1, EVENTS_PAGE_MAX).default(100).describe('at most this many events in one answer'),
});

export const WorkstreamLabel = nonEmptyText(200).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must be one line with no control characters');
export const CreateWorkstream = z.strictObject({ id: Id.optional(), label: WorkstreamLabel, goal: workstreamEvents.workstream_created.shape.goal, git: GitContext.optional() });
export const BindPlan = z.strictObject({ path: workstreamEvents.plan_bound.shape.path, kind: PlanKind, git: GitContext.optional() });
export const SetRecipeStep = workstreamEvents.recipe_step_set;
export const DeclareBoundary = z
  .strictObject({ boundary: Boundary, team_id: Id.optional(), note: text(1000).optional() })
  .refine((b) => (b.boundary === 'team') === (b.team_id !== undefined), { message: 'give team_id with boundary "team", and only then', path: ['team_id'] });
/** A run as its recorder knows it: no signal, nothing cut and no output unless it says so. */
export const RecordVerifyRun = workstreamEvents.verify_run_recorded.extend({
  run_id: Id.optional(),
  signal: workstreamEvents.verify_run_recorded.shape.signal.default(null),
  truncated: z.boolean().default(false),
  output_tail: workstreamEvents.verify_run_recorded.shape.output_tail.default(''),
});
export const StartNanite = workstreamEvents.nanite_started.extend({ nanite_id: Id.optional() });
export const CompleteNanite = workstreamEvents.nanite_completed.omit({ nanite_id: true, session_id: true });
export const RecordFinding = workstreamEvents.finding_recorded.extend({ finding_id: Id.optional() });
export const AttachArtifact = workstreamEvents.artifact_attached.extend({ artifact_id: Id.optional() });
export const AddMarker = workstreamEvents.marker_added.extend({ marker_id: Id.optional() });
export const ClearMarker = z.strictObject({ reason: text(500).optional() }).optional();
export const ChangeStatus = z.strictObject({ status: WorkstreamStatus, reason: text(1000).optional(), force: z.boolean().optional() });
export const ListWorkstreams = z.strictObject({ session: Id.optional(), status: WorkstreamStatus.optional(), ...PageQuery });
/** A workstream's verify runs, nanites, findings or artifacts. */
export const ListEvidence = z.strictObject({ as_of: AsOfParam.optional(), ...PageQuery });
export const HandoffQuery = z.strictObject({ format: z.enum(['json', 'md', 'markdown']).optional(), full: Flag.optional(), as_of: AsOfParam.optional() });
export const MarkersQuery = z.strictObject({ open: Flag.optional(), as_of: AsOfParam.optional(), ...PageQuery });
export const CartographyQuery = z.strictObject({ limit: count(1, 1000).default(100) });

const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** `30m`, `12h`, `7d`: how long a credential lasts from its issue. */
export const Duration = z
  .string()
  .regex(/^[1-9]\d{0,5}[smhd]$/, 'must be a duration like 30m, 12h or 7d')
  .transform((d) => Number(d.slice(0, -1)) * UNITS[d.slice(-1) as keyof typeof UNITS]);

export const IssueCredential = z.strictObject({
  name: nonEmptyText(200),
  role: CredentialRole,
  member_id: Id.optional(),
  session_id: Id.optional(),
  teams: z.union([z.literal('*'), z.array(Id).max(256)]).default('*'),
  workstreams: z.array(Id).max(256).default([]),
  expires_in: Duration.optional(),
});
export const RevokeCredential = z.strictObject({ reason: text(500).optional() }).optional();
export const ListCredentials = z.strictObject({ ...PageQuery });
