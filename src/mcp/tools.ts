import { z } from 'zod';
import { Id } from '../../events/index.js';
import { BmoError } from '../errors.js';
import * as S from '../http/schemas.js';
import { AsOfParam } from '../pipeline/as-of.js';
import { inToolWords, toolWords } from './words.js';

/** Who this MCP server acts as: tool inputs default `member_id`, `from` and `session_id` to it. */
export interface Identity {
  session?: string;
  member?: string;
  agent?: string;
}

/** One HTTP request a tool call becomes: the same route, the same checks, the same errors. */
export interface RouteCall {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** The answer is text (markdown), not JSON. */
  text?: boolean;
}

export interface ToolSpec {
  name: string;
  description: string;
  input: z.ZodType<Record<string, any>>;
  output: z.ZodObject;
  route(args: any, me: Identity): RouteCall;
  /** The answer as `structuredContent` (default: the route's JSON answer as it is). */
  shape?(answer: any, args: any): Record<string, unknown>;
  /** The member this agent is once the call succeeded (joining or creating a team), when it had none. */
  becomes?(answer: any): string | undefined;
  /** One line for a model that reads text only. */
  summary(answer: any, args: any): string;
  /** What a client may show or allow without asking: a read changes nothing; a destructive call ends something for others. */
  hints?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean };
}

const READ = { readOnlyHint: true } as const;

const team = (id: string) => `/v1/teams/${encodeURIComponent(id)}`;
const workstream = (id: string) => `/v1/workstreams/${encodeURIComponent(id)}`;
const seg = encodeURIComponent;

/** Arguments minus the ones that went into the path. */
function rest<T extends Record<string, unknown>>(args: T, ...keys: string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) if (!keys.includes(key) && value !== undefined) out[key] = value;
  return out as Partial<T>;
}

const Envelope = z.looseObject({ pos: z.number().int(), seq: z.number().int(), stream: z.string(), type: z.string(), at: z.string() });
/** What every command answers: the events it appended and the version and position they reached. */
const Committed = z.looseObject({ version: z.number().int().optional(), pos: z.number().int().optional(), events: z.array(Envelope) });
const committed = (ids: Record<string, z.ZodType>) => Committed.extend(ids);
const Str = z.string();
const Rows = z.array(z.looseObject({}));

const TeamRef = z.strictObject({ team_id: Id });
const WorkstreamRef = z.strictObject({ workstream_id: Id });
const MyMember = { member_id: Id.optional() };
/** A read as of a point: a position (a number or its digits) or a time, checked as the HTTP query's and passed on as text. */
const AsOfArg = { as_of: AsOfParam.optional() };

/** An agent's name as a member id (`Walt` → `walt`), when it makes one: others address the member by it. */
function idFrom(name: string | undefined): string | undefined {
  const id = name?.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return id && Id.safeParse(id).success ? id : undefined;
}

/** The member id an answer's member_joined event names (or its member_session_moved: a member back from a new session). */
const joined = (answer: { events?: { type: string; data?: { member_id?: string } }[] }) => answer.events?.find((e) => e.type === 'member_joined' || e.type === 'member_session_moved')?.data?.member_id;

/** An id this agent stands for unless the call names another; a clear refusal when it has none. */
function mine(given: string | undefined, fallback: string | undefined, field: string): string {
  const id = given ?? fallback;
  if (id === undefined) throw new BmoError('invalid_body', `${field}: say who you are: pass ${field}, join a team first (team_join), or start bmo mcp with --member <id>`, { field });
  return id;
}

/** A text cut to `max` characters for a one-line summary (the structured answer has it whole). */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** " as of 12" when the call asked for a past answer. */
const asOfWords = (args: { as_of?: string }) => (args.as_of ? ` as of ${args.as_of}` : '');

/** The end of a page's line: how to ask for the next one, when there is one. */
const more = (answer: { next_cursor?: string | null }) => (answer.next_cursor ? `; more with cursor ${answer.next_cursor}` : '');

const events = (answer: { events?: { type: string }[]; pos?: number }) =>
  answer.events && answer.events.length > 0 ? `${answer.events.map((e) => e.type).join(', ')} (pos ${answer.pos})` : 'nothing to change';

const teamTools: ToolSpec[] = [
  {
    name: 'team_create',
    description: 'Create a team with you as its lead (your member id defaults to "lead", your session to this agent\'s). Use it once, before adding tasks; it returns the team_id.',
    input: S.CreateTeam.extend({ lead: S.CreateTeam.shape.lead.extend({ member_id: Id.optional(), name: S.CreateTeam.shape.lead.shape.name.optional() }).optional() }),
    output: committed({ team_id: Str }),
    route: (a, me) => ({
      method: 'POST',
      path: '/v1/teams',
      body: { ...a, lead: { member_id: me.member ?? 'lead', name: me.agent ?? me.member ?? 'lead', ...(me.session ? { session_id: me.session } : {}), ...rest(a.lead ?? {}) } },
    }),
    becomes: joined,
    summary: (r) => `team ${r.team_id} created: ${events(r)}`,
  },
  {
    name: 'team_list',
    hints: READ,
    description: 'List the teams with their task and message counts. Use it to find a team to join; pass all=true to include removed teams.',
    input: S.ListTeams,
    output: z.looseObject({ pos: z.number().int(), teams: Rows }),
    route: (a) => ({ method: 'GET', path: '/v1/teams', query: a }),
    summary: (r) => `${r.teams.length} team(s): ${r.teams.map((t: any) => `${t.team_id} (${t.status})`).join(', ') || 'none'}${more(r)}`,
  },
  {
    name: 'team_status',
    description: 'One team in detail: its members, tasks (with ready and waiting_on) and message counts. Use it to see who is doing what before you act; as_of (a pos, or an ISO time with its zone) shows the team as it was then.',
    input: TeamRef.extend(AsOfArg),
    output: z.looseObject({ team_id: Str, status: Str, version: z.number().int(), members: Rows, tasks: Rows }),
    route: (a) => ({ method: 'GET', path: team(a.team_id), query: rest(a, 'team_id') }),
    summary: (r, a) => `team ${r.team_id} (${r.status}, version ${r.version})${asOfWords(a)}: ${r.members.length} member(s), ${r.tasks.length} task(s)`,
    hints: READ,
  },
  {
    name: 'team_join',
    description: 'Join a team as a member (your member id and session default to this agent\'s). Use it before claiming tasks or sending messages in that team.',
    input: S.JoinTeam.extend({ team_id: Id, name: S.JoinTeam.shape.name.optional() }),
    output: committed({ team_id: Str, member_id: Str }),
    route: (a, me) => ({
      method: 'POST',
      path: `${team(a.team_id)}/members`,
      body: { member_id: me.member ?? idFrom(me.agent), name: me.agent ?? a.member_id ?? me.member, ...(me.session ? { session_id: me.session } : {}), ...rest(a, 'team_id') },
    }),
    becomes: joined,
    summary: (r) => `joined team ${r.team_id} as ${r.member_id}: ${events(r)}`,
  },
  {
    name: 'team_leave',
    hints: { destructiveHint: true },
    description: 'Leave a team (you, unless member_id names another member). Your claimed tasks go back to the queue.',
    input: S.LeaveTeam.unwrap().extend({ team_id: Id, ...MyMember }),
    output: committed({ team_id: Str, member_id: Str }),
    route: (a, me) => ({ method: 'DELETE', path: `${team(a.team_id)}/members/${seg(mine(a.member_id, me.member, 'member_id'))}`, body: rest(a, 'team_id', 'member_id') }),
    summary: (r) => `${r.member_id} left team ${r.team_id}: ${events(r)}`,
  },
  {
    name: 'team_shutdown',
    hints: { destructiveHint: true },
    description: 'Shut a team down for good (the lead does this when the work is done). Nothing more can be claimed or sent in it.',
    input: S.Shutdown.unwrap().extend({ team_id: Id }),
    output: committed({ team_id: Str }),
    route: (a) => ({ method: 'POST', path: `${team(a.team_id)}/shutdown`, body: rest(a, 'team_id') }),
    summary: (r) => `team ${r.team_id} shut down: ${events(r)}`,
  },
  {
    name: 'team_posture',
    hints: READ,
    description: 'The posture snapshot across all teams: member liveness, ready and blocked tasks, unread messages. Use it for a quick health check of the whole board; as_of shows the teams as they were then (liveness judged at that time).',
    input: z.strictObject(AsOfArg),
    output: z.looseObject({ pos: z.number().int(), chip: Str, teams: Rows }),
    route: (a) => ({ method: 'GET', path: '/v1/teams/posture', query: a }),
    summary: (r) => `${r.chip} (pos ${r.pos}; ${r.teams.length} team(s))`,
  },
  {
    name: 'team_timeline',
    hints: READ,
    description: "A team's history from its log: who joined and left, each task's claims, renewals and end with durations, message threads, the lead going gone. Use it for a post-mortem of who did what and for how long (a removed team still has one); it pages: pass next_cursor back as cursor.",
    input: S.TimelineQuery.extend({ team_id: Id }),
    output: z.looseObject({ team_id: Str, team: z.looseObject({ status: Str }), counts: z.looseObject({}), entries: Rows }),
    route: (a) => ({ method: 'GET', path: `${team(a.team_id)}/timeline`, query: rest(a, 'team_id') }),
    summary: (r) =>
      `team ${r.team_id} (${r.team.status}): ${r.counts.members} member span(s), ${r.counts.tasks} task(s), ${r.counts.threads} thread(s) over ${r.counts.events} events; ${r.entries.length} entries here${more(r)}`,
  },
  {
    name: 'list_recent_team_events',
    hints: READ,
    description: 'The last team events across all teams, newest last (metadata only). Use it to see what just happened; limit is 1 to 256, default 16.',
    input: S.RecentQuery,
    output: z.looseObject({ pos: z.number().int(), events: Rows }),
    route: (a) => ({ method: 'GET', path: '/v1/teams/events/recent', query: a }),
    summary: (r) => `${r.events.length} recent team event(s) up to pos ${r.pos}`,
  },
];

const taskTools: ToolSpec[] = [
  {
    name: 'task_create',
    description: 'Add a task to a team; blocked_by lists task ids that must complete first. Returns the task_id.',
    input: S.CreateTask.extend({ team_id: Id }),
    output: committed({ team_id: Str, task_id: Str }),
    route: (a) => ({ method: 'POST', path: `${team(a.team_id)}/tasks`, body: rest(a, 'team_id') }),
    summary: (r) => `task ${r.task_id} created in team ${r.team_id}: ${events(r)}`,
  },
  {
    name: 'task_list',
    description: "A team's tasks; ready=true keeps those you can claim now, status filters by open, claimed, completed or failed. Use it to pick work.",
    input: S.ListTasks.extend({ team_id: Id }),
    output: z.looseObject({ team_id: Str, version: z.number().int(), tasks: Rows }),
    route: (a) => ({ method: 'GET', path: `${team(a.team_id)}/tasks`, query: rest(a, 'team_id') }),
    summary: (r, a) => `${r.tasks.length} task(s)${asOfWords(a)}: ${r.tasks.map((t: any) => `${t.task_id} ${t.status}${t.ready ? ' ready' : ''}`).join(', ') || 'none'}${more(r)}`,
    hints: READ,
  },
  {
    name: 'task_claim',
    description: 'Claim a ready task for yourself; it answers the fencing_token that complete, fail and release need, and when the lease ends unless your session heartbeats.',
    input: S.ClaimTask.extend({ team_id: Id, task_id: Id, ...MyMember }),
    output: committed({ team_id: Str, task_id: Str, fencing_token: z.number().int().optional(), lease_expires_at: Str.optional() }),
    route: (a, me) => ({ method: 'POST', path: `${team(a.team_id)}/tasks/${seg(a.task_id)}/claim`, body: { ...(me.session ? { session_id: me.session } : {}), ...rest(a, 'team_id', 'task_id'), member_id: mine(a.member_id, me.member, 'member_id') } }),
    summary: (r) => `task ${r.task_id} claimed with fencing token ${r.fencing_token} until ${r.lease_expires_at}`,
  },
  ...(['complete', 'fail', 'release'] as const).map(
    (action): ToolSpec => ({
      name: `task_${action}`,
      description: {
        complete: 'Mark a task you claimed as done, with its fencing_token and an optional result. Tasks it blocked become ready.',
        fail: 'Mark a task you claimed as failed, with its fencing_token and the error. Use it when the task cannot be done, not to hand it on (release does that).',
        release: 'Give a task you claimed back to the queue, with its fencing_token, so another member can claim it.',
      }[action],
      input: (action === 'complete' ? S.CompleteTask : action === 'fail' ? S.FailTask : S.HeldTask).extend({ team_id: Id, task_id: Id, ...MyMember }),
      output: committed({ team_id: Str, task_id: Str }),
      route: (a, me) => ({ method: 'POST', path: `${team(a.team_id)}/tasks/${seg(a.task_id)}/${action}`, body: { ...rest(a, 'team_id', 'task_id'), member_id: mine(a.member_id, me.member, 'member_id') } }),
      summary: (r) => `task ${r.task_id}: ${events(r)}`,
    }),
  ),
  {
    name: 'task_update',
    description: "Change a task's title, description or blockers, or add a note to it. Use it when the plan changes.",
    input: S.UpdateTask.extend({ team_id: Id, task_id: Id }),
    output: committed({ team_id: Str, task_id: Str }),
    route: (a) => ({ method: 'PATCH', path: `${team(a.team_id)}/tasks/${seg(a.task_id)}`, body: rest(a, 'team_id', 'task_id') }),
    summary: (r) => `task ${r.task_id}: ${events(r)}`,
  },
];

const messageTools: ToolSpec[] = [
  {
    name: 'message_send',
    description: 'Send a message to a member of the team, or to "*" for everyone; it comes from you. Returns the message_id.',
    input: S.SendMessage.extend({ team_id: Id, from: Id.optional() }),
    output: committed({ team_id: Str, message_id: Str }),
    route: (a, me) => ({ method: 'POST', path: `${team(a.team_id)}/messages`, body: { ...rest(a, 'team_id'), from: mine(a.from, me.member, 'from') } }),
    summary: (r) => `message ${r.message_id} sent in team ${r.team_id} (pos ${r.pos})`,
  },
  {
    name: 'inbox',
    hints: READ,
    description: 'Your messages in a team, oldest first, each with read true or false; unread=true keeps the unread ones. Check it between tasks.',
    input: S.Inbox.extend({ team_id: Id, ...MyMember }),
    output: z.looseObject({ team_id: Str, member_id: Str, version: z.number().int(), messages: Rows }),
    route: (a, me) => ({ method: 'GET', path: `${team(a.team_id)}/members/${seg(mine(a.member_id, me.member, 'member_id'))}/inbox`, query: rest(a, 'team_id', 'member_id') }),
    summary: (r) => `${r.messages.length} message(s) for ${r.member_id}: ${r.messages.map((m: any) => `${m.message_id} from ${m.from}${m.read ? '' : ' (unread)'}: ${JSON.stringify(clip(m.body, 200))}`).join(', ') || 'none'}${more(r)}`,
  },
  {
    name: 'message_read',
    description: 'Mark a message in your inbox as read, so it no longer counts as unread.',
    input: S.ReadMessage.extend({ team_id: Id, message_id: Id, ...MyMember }),
    output: committed({ team_id: Str, message_id: Str }),
    route: (a, me) => ({ method: 'POST', path: `${team(a.team_id)}/messages/${seg(a.message_id)}/read`, body: { ...rest(a, 'team_id', 'message_id'), member_id: mine(a.member_id, me.member, 'member_id') } }),
    summary: (r) => `message ${r.message_id}: ${events(r)}`,
  },
];

/** A workstream command: `<verb>` on the workstream, its body the schema's fields. */
function workstreamCommand(name: string, description: string, schema: z.ZodObject, verb: string, method: RouteCall['method'], ids: Record<string, z.ZodType> = {}): ToolSpec {
  return {
    name,
    description,
    input: schema.safeExtend({ workstream_id: Id }),
    output: committed({ workstream_id: Str, ...ids }),
    route: (a) => ({ method, path: `${workstream(a.workstream_id)}/${verb}`, body: rest(a, 'workstream_id') }),
    summary: (r) => `workstream ${r.workstream_id}: ${events(r)}${Object.keys(ids).map((id) => (r[id] ? `; ${id} ${r[id]}` : '')).join('')}`,
  };
}

const workstreamTools: ToolSpec[] = [
  {
    name: 'workstream_create',
    description: 'Start a workstream: a durable record of one piece of work (its plan, boundary, findings, artifacts, markers, verify runs). Returns the workstream_id.',
    input: S.CreateWorkstream,
    output: committed({ workstream_id: Str }),
    route: (a) => ({ method: 'POST', path: '/v1/workstreams', body: a }),
    summary: (r) => `workstream ${r.workstream_id} created: ${events(r)}`,
  },
  {
    name: 'workstream_list',
    hints: READ,
    description: 'List the workstreams, one row each (status, label, counts); status filters, session keeps those your session touched, most recent first. Use it to find work to resume.',
    input: S.ListWorkstreams,
    output: z.looseObject({ pos: z.number().int(), workstreams: Rows }),
    route: (a) => ({ method: 'GET', path: '/v1/workstreams', query: a }),
    summary: (r) => `${r.workstreams.length} workstream(s): ${r.workstreams.map((w: any) => `${w.workstream_id} (${w.status})`).join(', ') || 'none'}${more(r)}`,
  },
  {
    name: 'workstream_status',
    description: "A workstream's status row: its state, plan, boundary and counts of findings, markers and verify runs. Use it before you resume work on it; as_of (a pos, or an ISO time with its zone) shows it as it was then.",
    input: WorkstreamRef.extend(AsOfArg),
    output: z.looseObject({ workstream_id: Str }),
    route: (a) => ({ method: 'GET', path: `${workstream(a.workstream_id)}/status`, query: rest(a, 'workstream_id') }),
    // Its next steps name CLI verbs: as tools here; its drill-ins (verbs and routes) as this surface's.
    shape: ({ drill_in: _drillIn, ...status }, a) => inToolWords({ ...status, drill_in: { handoff: 'workstream_handoff', events: `events_since with filter workstreams/${a.workstream_id}` } }),
    summary: (r, a) => `workstream ${r.workstream_id}${asOfWords(a)}: ${r.status ?? 'status'}`,
    hints: READ,
  },
  {
    name: 'workstream_handoff',
    hints: READ,
    description: 'The handoff of a workstream as markdown: what was done, what is open, what to do next. Read it to pick up work another agent left; as_of gives it as it was then.',
    input: WorkstreamRef.extend(AsOfArg),
    output: z.looseObject({ workstream_id: Str, markdown: Str }),
    route: (a) => ({ method: 'GET', path: `${workstream(a.workstream_id)}/handoff`, query: { format: 'md', ...rest(a, 'workstream_id') }, text: true }),
    // Its next steps name CLI verbs: as tools here, and its footer's drill-ins as this surface's.
    shape: (markdown: string, a) => ({
      workstream_id: a.workstream_id,
      markdown: toolWords(markdown.replace(/\n---\nDrill in: .*\n?$/, `\n---\nDrill in: workstream_status, events_since with filter workstreams/${a.workstream_id}\n`)),
    }),
    summary: (r) => r.markdown,
  },
  workstreamCommand('workstream_set_plan', 'Bind the plan the workstream follows (a path and its kind). Use it when the plan is written or replaced.', S.BindPlan, 'plan', 'PUT'),
  workstreamCommand('workstream_boundary', 'Declare how far the work reaches (parent-only, child-agent, nanite, team with team_id, …). Use it before delegating.', S.DeclareBoundary, 'boundary', 'PUT'),
  workstreamCommand('workstream_set_status', 'Set the workstream status (active, completed, partial, blocked, superseded, unavailable) with an optional reason.', S.ChangeStatus, 'status', 'PUT'),
  workstreamCommand('finding_add', 'Record a finding (severity, text, optional path) on a workstream. Use it for anything the next agent must know.', S.RecordFinding, 'findings', 'POST', { finding_id: Str }),
  workstreamCommand('artifact_add', 'Attach an artifact (a ref such as a path or URL, its kind, an optional digest) to a workstream.', S.AttachArtifact, 'artifacts', 'POST', { artifact_id: Str }),
  workstreamCommand('marker_add', 'Leave a marker at a path (a TODO, a hazard) on a workstream; it stays open until cleared.', S.AddMarker, 'markers', 'POST', { marker_id: Str }),
  {
    name: 'marker_clear',
    description: 'Clear a marker on a workstream once what it flagged is dealt with, with an optional reason.',
    input: S.ClearMarker.unwrap().extend({ workstream_id: Id, marker_id: Id }),
    output: committed({ workstream_id: Str, marker_id: Str }),
    route: (a) => ({ method: 'POST', path: `${workstream(a.workstream_id)}/markers/${seg(a.marker_id)}/clear`, body: rest(a, 'workstream_id', 'marker_id') }),
    summary: (r) => `marker ${r.marker_id}: ${events(r)}`,
  },
  {
    name: 'verify_record',
    description: 'Record a verification you ran yourself (argv, cwd, exit_code, output_tail, duration) on a workstream. Returns the run_id.',
    input: S.RecordVerifyRun.extend({ workstream_id: Id }),
    output: committed({ workstream_id: Str, run_id: Str }),
    route: (a, me) => ({ method: 'POST', path: `${workstream(a.workstream_id)}/verify-runs`, body: { ...(me.session ? { session_id: me.session } : {}), ...rest(a, 'workstream_id') } }),
    summary: (r) => `verify run ${r.run_id} recorded on workstream ${r.workstream_id} (pos ${r.pos})`,
  },
];

const logTools: ToolSpec[] = [
  {
    name: 'events_since',
    hints: READ,
    description: 'Committed events after a position (filter like teams/<id> or workstreams/*), a page at a time; call again from next until it equals head. Use it to catch up after losing context.',
    input: S.EventsSince,
    output: z.looseObject({ from_pos: z.number().int(), next: z.number().int(), head: z.number().int(), events: z.array(Envelope) }),
    route: (a) => ({ method: 'GET', path: '/v1/events', query: a }),
    summary: (r) => `${r.events.length} event(s) after pos ${r.from_pos}; next ${r.next}, head ${r.head}`,
  },
];

/** Every tool `bmo mcp` and `/mcp` offer, in the order `tools/list` gives them. */
export const TOOLS: readonly ToolSpec[] = [...teamTools, ...taskTools, ...messageTools, ...workstreamTools, ...logTools];
