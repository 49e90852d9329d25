import { idIn, Severity, type Envelope, type EventOf, type EventType, type GitContext, type NaniteOutcome, type PlanKind, type WorkstreamStatus } from '../events/index.js';
import { mergeByKey, type Projection } from './types.js';

export interface PlanBinding {
  path: string;
  kind: PlanKind;
  bound_at: string;
  git?: GitContext;
}

export interface BoundaryDeclaration {
  boundary: string;
  team_id?: string;
  note?: string;
  declared_at: string;
}

export interface VerifyRunView {
  run_id: string;
  argv: string[];
  cwd: string;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number;
  output_tail: string;
  truncated: boolean;
  timed_out: boolean;
  passed: boolean;
  session_id?: string;
  git?: GitContext;
  step?: string;
  recorded_at: string;
}

export interface NaniteView {
  nanite_id: string;
  session_id: string;
  prompt: string;
  executor: string[];
  git?: GitContext;
  runner?: { pid: number; host: string; start_ticks?: number };
  state: 'running' | NaniteOutcome;
  started_at: string;
  completed_at?: string;
  outcome?: NaniteOutcome;
  handoff?: string;
  exit_code?: number | null;
  duration_ms?: number;
  truncated?: boolean;
}

export interface FindingView {
  finding_id: string;
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  path?: string;
  text: string;
  recorded_at: string;
}

export interface ArtifactView {
  artifact_id: string;
  ref: string;
  kind: string;
  digest?: string;
  attached_at: string;
}

export interface MarkerView {
  marker_id: string;
  path: string;
  note: string;
  added_at: string;
  cleared_at?: string;
  cleared_reason?: string;
}

/** One workstream as its log tells it: the write model of the workstream decider and the read model of show/status/handoff. */
export interface WorkstreamView {
  workstream_id: string;
  label: string;
  /** Kept out of the lean read model, as every long text is. */
  goal?: string;
  /** The git context of the latest event that carried one. */
  git?: GitContext;
  /** Named verify steps, in the order they were first set. */
  recipe: Map<string, string[]>;
  status: WorkstreamStatus;
  status_reason?: string;
  version: number;
  created_at: string;
  updated_at: string;
  /** Store positions: exact in the read model; the write model only sees provisional ones (0). */
  created_pos: number;
  last_pos: number;
  plan?: PlanBinding;
  plan_history: PlanBinding[];
  boundary?: BoundaryDeclaration;
  verify_runs: VerifyRunView[];
  nanites: Map<string, NaniteView>;
  findings: Map<string, FindingView>;
  artifacts: Map<string, ArtifactView>;
  markers: Map<string, MarkerView>;
  status_history: { status: WorkstreamStatus; reason?: string; forced_over?: string[]; at: string }[];
  /** Every session its events carry (meta or data), with the last position that carried it. */
  sessions: Map<string, number>;
}

/** A verify run passed when the command exited 0 on its own. */
export function verifyPassed(run: { exit_code: number | null; timed_out?: boolean }): boolean {
  return run.exit_code === 0 && !run.timed_out;
}

/** The sessions an event carries: who wrote it (meta) and whose run it records (data). */
export function sessionsOf(event: Envelope): string[] {
  const out: string[] = [];
  if (event.meta.session_id) out.push(event.meta.session_id);
  const data = event.data as { session_id?: unknown };
  if (typeof data.session_id === 'string' && !out.includes(data.session_id)) out.push(data.session_id);
  return out;
}

/** What each event does to a workstream, by type (`lean` leaves the long texts out); a type left out changes only its version. */
type WorkstreamHandlers = { [T in EventType]?: (ws: WorkstreamView, event: Envelope<EventOf<T>>, lean: boolean) => void };
type WorkstreamCreated = Envelope<EventOf<'workstream_created'>>;

function newWorkstream(event: WorkstreamCreated, lean: boolean): WorkstreamView {
  const ws: WorkstreamView = {
    workstream_id: event.data.workstream_id,
    label: event.data.label,
    goal: lean ? undefined : event.data.goal,
    git: event.data.git,
    recipe: new Map(),
    status: 'active',
    version: event.seq,
    created_at: event.at,
    updated_at: event.at,
    created_pos: event.pos,
    last_pos: event.pos,
    plan_history: [],
    verify_runs: [],
    nanites: new Map(),
    findings: new Map(),
    artifacts: new Map(),
    markers: new Map(),
    status_history: [{ status: 'active', at: event.at }],
    sessions: new Map(),
  };
  for (const session of sessionsOf(event)) ws.sessions.set(session, event.pos);
  return ws;
}

/** The plan, recipe, boundary and status: what the work follows and where it stands. */
const bindings: WorkstreamHandlers = {
  recipe_step_set(ws, event) {
    ws.recipe.set(event.data.step, event.data.argv);
  },
  plan_bound(ws, event) {
    const plan = { path: event.data.path, kind: event.data.kind, bound_at: event.at, git: event.data.git };
    ws.plan = plan;
    ws.plan_history.push(plan);
  },
  boundary_declared(ws, event) {
    ws.boundary = { boundary: event.data.boundary, team_id: event.data.team_id, note: event.data.note, declared_at: event.at };
  },
  status_changed(ws, event) {
    ws.status = event.data.status;
    ws.status_reason = event.data.reason;
    ws.status_history.push({ status: event.data.status, reason: event.data.reason, forced_over: event.data.forced_over, at: event.at });
  },
};

/** Verify runs and nanites: what the work ran, with output tails, prompts and handoffs unless lean. */
const runs: WorkstreamHandlers = {
  verify_run_recorded(ws, event, lean) {
    const d = event.data;
    ws.verify_runs.push({
      run_id: d.run_id,
      argv: d.argv,
      cwd: d.cwd,
      exit_code: d.exit_code,
      signal: d.signal,
      duration_ms: d.duration_ms,
      output_tail: lean ? '' : d.output_tail,
      truncated: d.truncated,
      timed_out: d.timed_out ?? false,
      passed: verifyPassed(d),
      session_id: d.session_id,
      git: d.git,
      step: d.step,
      recorded_at: event.at,
    });
  },
  nanite_started(ws, event, lean) {
    const d = event.data;
    ws.nanites.set(d.nanite_id, { nanite_id: d.nanite_id, session_id: d.session_id, prompt: lean ? '' : d.prompt, executor: d.executor, git: d.git, runner: d.runner, state: 'running', started_at: event.at });
  },
  nanite_completed(ws, event, lean) {
    const d = event.data;
    const nanite = ws.nanites.get(d.nanite_id);
    if (nanite) {
      Object.assign(nanite, {
        state: d.outcome,
        outcome: d.outcome,
        handoff: lean ? undefined : d.handoff,
        exit_code: d.exit_code,
        duration_ms: d.duration_ms,
        truncated: d.truncated ?? false,
        completed_at: event.at,
      });
    }
  },
};

/** Findings, artifacts and markers: what the work found, made and left for the next turn. */
const evidence: WorkstreamHandlers = {
  finding_recorded(ws, event, lean) {
    const d = event.data;
    ws.findings.set(d.finding_id, { finding_id: d.finding_id, severity: d.severity, path: d.path, text: lean ? '' : d.text, recorded_at: event.at });
  },
  artifact_attached(ws, event) {
    const d = event.data;
    ws.artifacts.set(d.artifact_id, { artifact_id: d.artifact_id, ref: d.ref, kind: d.kind, digest: d.digest, attached_at: event.at });
  },
  marker_added(ws, event) {
    const d = event.data;
    ws.markers.set(d.marker_id, { marker_id: d.marker_id, path: d.path, note: d.note, added_at: event.at });
  },
  marker_cleared(ws, event) {
    const marker = ws.markers.get(event.data.marker_id);
    if (marker) Object.assign(marker, { cleared_at: event.at, cleared_reason: event.data.reason });
  },
};

const WORKSTREAM_HANDLERS: WorkstreamHandlers = { ...bindings, ...runs, ...evidence };

/**
 * Folds one workstream event into its workstream (created by `workstream_created`). A `lean` fold
 * leaves out the long texts (output tails, prompts, handoffs, finding texts): every workstream
 * stays in memory lean, and its detail is folded from its log when asked for.
 */
export function evolveWorkstream(ws: WorkstreamView | undefined, event: Envelope, lean = false): WorkstreamView | undefined {
  if (event.type === 'workstream_created') return newWorkstream(event as WorkstreamCreated, lean);
  if (!ws) return ws;
  ws.version = event.seq;
  ws.updated_at = event.at;
  ws.last_pos = Math.max(ws.last_pos, event.pos);
  for (const session of sessionsOf(event)) ws.sessions.set(session, Math.max(ws.sessions.get(session) ?? 0, event.pos));
  const git = (event.data as { git?: GitContext }).git;
  if (git) ws.git = git;
  (WORKSTREAM_HANDLERS[event.type] as ((ws: WorkstreamView, event: Envelope, lean: boolean) => void) | undefined)?.(ws, event, lean);
  return ws;
}

/** Every workstream by id, as the logs tell them. */
export const workstreamsProjection: Projection<Map<string, WorkstreamView>> = {
  name: 'workstreams',
  version: 3,
  handles: ['workstreams'],
  initialState: () => new Map(),
  merge: mergeByKey,
  evolve(workstreams, event) {
    const id = idIn('workstreams', event.stream);
    if (id === undefined) return workstreams;
    const next = evolveWorkstream(workstreams.get(id), event, true);
    if (next) workstreams.set(id, next);
    return workstreams;
  },
};

export function openMarkers(ws: WorkstreamView): MarkerView[] {
  return [...ws.markers.values()].filter((m) => m.cleared_at === undefined);
}

export function lastVerify(ws: WorkstreamView): VerifyRunView | undefined {
  return ws.verify_runs[ws.verify_runs.length - 1];
}

/** `bmo workstream show`: the raw durable row and everything attached to it. */
export function presentWorkstream(ws: WorkstreamView) {
  return {
    workstream_id: ws.workstream_id,
    label: ws.label,
    goal: ws.goal,
    git: ws.git,
    status: ws.status,
    status_reason: ws.status_reason,
    version: ws.version,
    created_at: ws.created_at,
    updated_at: ws.updated_at,
    plan: ws.plan,
    recipe: recipeSteps(ws),
    plan_history: ws.plan_history,
    boundary: ws.boundary,
    verify_runs: ws.verify_runs,
    nanites: [...ws.nanites.values()],
    findings: [...ws.findings.values()],
    artifacts: [...ws.artifacts.values()],
    markers: [...ws.markers.values()],
    status_history: ws.status_history,
    sessions: [...ws.sessions.keys()].sort(),
  };
}

/** The severities most severe first: the order a status counts findings in. */
const SEVERITIES = [...Severity.options].reverse();

/** One line per workstream, for lists. */
export function workstreamSummary(ws: WorkstreamView) {
  const last = lastVerify(ws);
  return {
    workstream_id: ws.workstream_id,
    label: ws.label,
    status: ws.status,
    version: ws.version,
    plan: ws.plan ? { path: ws.plan.path, kind: ws.plan.kind } : undefined,
    boundary: ws.boundary?.boundary,
    last_verify: last ? { run_id: last.run_id, passed: last.passed, exit_code: last.exit_code, at: last.recorded_at } : undefined,
    counts: {
      verify_runs: ws.verify_runs.length,
      nanites: ws.nanites.size,
      findings: ws.findings.size,
      artifacts: ws.artifacts.size,
      open_markers: openMarkers(ws).length,
    },
    created_at: ws.created_at,
    updated_at: ws.updated_at,
  };
}

/** The recipe as rows, in the order the steps were first set. */
export function recipeSteps(ws: WorkstreamView): { step: string; argv: string[] }[] {
  return [...ws.recipe].map(([step, argv]) => ({ step, argv }));
}

/**
 * The verb that runs the verification again: the recipe's step when the last run was one (or the
 * whole recipe before any run), else the last command (`--again`), else a command to give.
 */
export function verifyVerb(ws: WorkstreamView): string {
  const id = ws.workstream_id;
  const last = lastVerify(ws);
  if (last?.step !== undefined && ws.recipe.has(last.step)) return `bmo workstream verify ${id} ${last.step}`;
  if (last) return `bmo workstream verify-run ${id} --again`;
  return ws.recipe.size > 0 ? `bmo workstream verify ${id}` : `bmo workstream verify-run ${id} -- CMD…`;
}

/** Where a reader can drill in from the bounded status: the CLI verb and the HTTP route, with how much each holds. */
export function drillIn(ws: WorkstreamView) {
  const id = ws.workstream_id;
  const base = `/v1/workstreams/${id}`;
  return {
    show: { verb: `bmo workstream show ${id}`, route: base },
    handoff: { verb: `bmo workstream handoff ${id} --format md`, route: `${base}/handoff`, markdown: `${base}/handoff?format=md` },
    events: { verb: `bmo events tail --stream workstreams/${id}`, route: `${base}/events`, count: ws.version },
    verify_runs: { verb: `bmo workstream show ${id} --json`, route: `${base}/verify-runs`, count: ws.verify_runs.length },
    nanites: { verb: `bmo nanite status ${id}`, route: `${base}/nanites`, count: ws.nanites.size },
    findings: { verb: `bmo workstream show ${id} --json`, route: `${base}/findings`, count: ws.findings.size },
    artifacts: { verb: `bmo workstream show ${id} --json`, route: `${base}/artifacts`, count: ws.artifacts.size },
    markers: { verb: `bmo workstream show ${id} --json`, route: `${base}/markers`, count: ws.markers.size },
    cartography: { verb: 'bmo cartography', route: '/v1/cartography' },
  };
}

export interface PreflightCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/** Which recipe steps passed in their latest run since `since` (all runs when no plan is bound). */
function recipeSincePlan(ws: WorkstreamView, since: string | undefined): { passed: string[]; steps: string[] } {
  const steps = [...ws.recipe.keys()];
  const passed = steps.filter((step) => {
    const latest = [...ws.verify_runs].reverse().find((r) => r.step === step && (since === undefined || r.recorded_at >= since));
    return latest?.passed === true;
  });
  return { passed, steps };
}

function verifiedSincePlan(ws: WorkstreamView): PreflightCheck {
  const check = 'verified_since_plan';
  if (!ws.plan) return { check, ok: false, detail: 'no plan bound, so nothing is verified against one' };
  if (ws.recipe.size > 0) {
    const { passed, steps } = recipeSincePlan(ws, ws.plan.bound_at);
    const missing = steps.filter((s) => !passed.includes(s));
    return { check, ok: missing.length === 0, detail: `${passed.length} of ${steps.length} recipe step(s) passed since the plan was bound${missing.length ? `; run bmo workstream verify ${ws.workstream_id} ${missing.join(' ')}` : ''}` };
  }
  const lastPassed = [...ws.verify_runs].reverse().find((r) => r.passed);
  const ok = lastPassed !== undefined && lastPassed.recorded_at >= ws.plan.bound_at;
  return { check, ok, detail: ok ? `passed at ${lastPassed!.recorded_at}` : 'no passing verify run since the plan was bound' };
}

/** The git flags: the last verify run on another commit than the latest known, a branch moved since the plan was bound. */
function gitChecks(ws: WorkstreamView): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const current = ws.git;
  const last = lastVerify(ws);
  if (current && last?.git) {
    const same = last.git.commit === current.commit;
    checks.push({ check: 'verified_on_current_commit', ok: same, detail: same ? `the last verify run was on ${short(current.commit)}` : `the last verify run was on ${short(last.git.commit)}, the latest commit seen is ${short(current.commit)}: verify again` });
  }
  const planBranch = ws.plan?.git?.branch;
  if (current && ws.plan?.git) {
    const same = planBranch === current.branch;
    checks.push({ check: 'branch_unchanged_since_plan', ok: same, detail: same ? `on ${current.branch ?? '(detached)'} as when the plan was bound` : `the plan was bound on ${planBranch ?? '(detached)'}, the work is now on ${current.branch ?? '(detached)'}: bind the plan again with set-plan` });
  }
  return checks;
}

const short = (commit: string) => commit.slice(0, 12);

/** The preflight: every check a workstream must pass before it is called completed. */
export function preflightChecks(ws: WorkstreamView): PreflightCheck[] {
  const last = lastVerify(ws);
  const open = openMarkers(ws);
  const high = [...ws.findings.values()].filter((f) => f.severity === 'critical' || f.severity === 'high');
  const running = [...ws.nanites.values()].filter((n) => n.state === 'running').length;
  const id = ws.workstream_id;
  return [
    { check: 'plan_bound', ok: ws.plan !== undefined, detail: ws.plan ? `${ws.plan.kind} ${ws.plan.path}` : `no plan bound: bmo workstream set-plan ${id} --path P --kind K` },
    { check: 'boundary_declared', ok: ws.boundary !== undefined, detail: ws.boundary?.boundary ?? `no boundary declared: bmo workstream boundary ${id} <boundary>` },
    { check: 'last_verify_passed', ok: last?.passed === true, detail: last ? `${commandLine(last.argv)} → ${exitText(last)}` : `never verified: ${verifyVerb(ws)}` },
    verifiedSincePlan(ws),
    ...gitChecks(ws),
    { check: 'no_open_markers', ok: open.length === 0, detail: `${open.length} open marker(s)` },
    { check: 'no_high_findings', ok: high.length === 0, detail: `${high.filter((f) => f.severity === 'critical').length} critical, ${high.filter((f) => f.severity === 'high').length} high` },
    { check: 'no_running_nanites', ok: running === 0, detail: `${running} nanite(s) started and not completed` },
  ];
}

function verifyPosture(ws: WorkstreamView) {
  const runs = ws.verify_runs;
  const last = lastVerify(ws);
  let consecutiveFailures = 0;
  for (let i = runs.length - 1; i >= 0 && !runs[i].passed; i--) consecutiveFailures++;
  return {
    posture: runs.length === 0 ? 'unverified' : last!.passed ? 'passing' : 'failing',
    runs: runs.length,
    passed: runs.filter((r) => r.passed).length,
    failed: runs.filter((r) => !r.passed).length,
    consecutive_failures: consecutiveFailures,
    last_passed_at: [...runs].reverse().find((r) => r.passed)?.recorded_at ?? null,
    last_failed_at: [...runs].reverse().find((r) => !r.passed)?.recorded_at ?? null,
  };
}

function nanitePosture(ws: WorkstreamView) {
  const nanites = [...ws.nanites.values()];
  const byOutcome = { running: 0, completed: 0, failed: 0, timeout: 0, partial: 0 };
  for (const nanite of nanites) byOutcome[nanite.state]++;
  const last = nanites[nanites.length - 1];
  return {
    posture: nanites.length === 0 ? 'none' : byOutcome.running > 0 ? 'running' : last.state,
    total: nanites.length,
    ...byOutcome,
    last: last ? { nanite_id: last.nanite_id, session_id: last.session_id, state: last.state, started_at: last.started_at, completed_at: last.completed_at } : null,
  };
}

/**
 * `bmo workstream status`: a bounded summary (no output tails, no handoff texts) — identity, goal,
 * git context, bindings, last verify, verify/preflight/nanite posture, counts and where to drill in.
 */
export function workstreamStatus(ws: WorkstreamView) {
  const last = lastVerify(ws);
  const findingsBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const finding of ws.findings.values()) findingsBySeverity[finding.severity]++;
  const open = openMarkers(ws).length;
  const checks = preflightChecks(ws);
  return {
    workstream_id: ws.workstream_id,
    label: ws.label,
    goal: ws.goal,
    git: ws.git ?? null,
    status: ws.status,
    status_reason: ws.status_reason,
    version: ws.version,
    created_at: ws.created_at,
    updated_at: ws.updated_at,
    bindings: {
      plan: ws.plan ? { path: ws.plan.path, kind: ws.plan.kind, bound_at: ws.plan.bound_at } : null,
      boundary: ws.boundary ? { boundary: ws.boundary.boundary, team_id: ws.boundary.team_id, declared_at: ws.boundary.declared_at } : null,
      recipe: recipeSteps(ws).map((s) => s.step),
    },
    last_verify: last
      ? { run_id: last.run_id, argv: last.argv, passed: last.passed, exit_code: last.exit_code, signal: last.signal, timed_out: last.timed_out, truncated: last.truncated, duration_ms: last.duration_ms, at: last.recorded_at, step: last.step, commit: last.git?.commit }
      : null,
    verify: verifyPosture(ws),
    preflight: { ready: checks.every((c) => c.ok), checks },
    nanites: nanitePosture(ws),
    counts: {
      events: ws.version,
      verify_runs: ws.verify_runs.length,
      nanites: ws.nanites.size,
      findings: ws.findings.size,
      findings_by_severity: findingsBySeverity,
      artifacts: ws.artifacts.size,
      markers_open: open,
      markers_cleared: ws.markers.size - open,
      sessions: ws.sessions.size,
    },
    drill_in: drillIn(ws),
  };
}

/** argv as a shell line a person can copy: words with shell characters are single-quoted. */
export function commandLine(argv: string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function exitText(run: { exit_code: number | null; signal: string | null; timed_out?: boolean }): string {
  if (run.timed_out) return `timed out${run.signal ? ` (${run.signal})` : ''}`;
  if (run.exit_code !== null) return `exit ${run.exit_code}`;
  return run.signal ? `killed by ${run.signal}` : 'no exit code';
}
