import type { presentCartography } from '../../../projections/cartography.js';
import { gitWords } from '../../../projections/handoff.js';
import { commandLine, exitText, type presentWorkstream, type workstreamStatus, type workstreamSummary } from '../../../projections/workstream.js';
import { MAX_KEPT_BYTES, type BoundedRunResult } from '../bounded-run.js';
import { section, table } from '../format.js';

/** What the routes answer, as the projections build it (JSON keeps every field these renderers read). */
export type StatusReply = ReturnType<typeof workstreamStatus>;
export type ShowReply = ReturnType<typeof presentWorkstream>;
export type ListReply = { workstreams: ReturnType<typeof workstreamSummary>[] };
export type CartographyReply = ReturnType<typeof presentCartography>;

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** A verify run or a nanite's outcome as one line. */
export function runLine(run: BoundedRunResult, maxBytes: number): string {
  const kept = run.truncated ? `output ${kb(run.output_bytes)}, kept the last ${kb(Math.min(maxBytes, MAX_KEPT_BYTES))} (truncated)` : `output ${kb(run.output_bytes)}`;
  return `${exitText(run)} in ${seconds(run.duration_ms)}; ${kept}`;
}

/** `bmo workstream list`. */
export function listText(result: ListReply): string {
  if (result.workstreams.length === 0) return 'no workstreams (create one with bmo workstream create --label L)';
  return table(
    ['WORKSTREAM', 'STATUS', 'PLAN', 'LAST VERIFY', 'RUNS', 'NANITES', 'FINDINGS', 'MARKERS', 'LABEL'],
    result.workstreams.map((w) => [
      w.workstream_id,
      w.status,
      w.plan ? `${w.plan.kind}:${w.plan.path}` : undefined,
      w.last_verify ? (w.last_verify.passed ? 'passed' : `failed (${w.last_verify.exit_code ?? 'signal'})`) : undefined,
      w.counts.verify_runs,
      w.counts.nanites,
      w.counts.findings,
      w.counts.open_markers,
      w.label,
    ]),
  );
}

/** `bmo workstream status`. */
export function statusText(s: StatusReply): string {
  const check = (c: StatusReply['preflight']['checks'][number]) => `${c.ok ? 'ok  ' : 'todo'}  ${c.check.padEnd(20)} ${c.detail}`;
  const lv = s.last_verify;
  const drill: [string, { verb: string; count?: number }][] = Object.entries(s.drill_in);
  return [
    `workstream ${s.workstream_id} "${s.label}": ${s.status}${s.status_reason ? ` (${s.status_reason})` : ''}, version ${s.version}`,
    ...(s.goal ? [`goal:      ${s.goal}`] : []),
    `git:       ${s.git ? gitWords(s.git) : 'no git context recorded'}`,
    `plan:      ${s.bindings.plan ? `${s.bindings.plan.kind} ${s.bindings.plan.path}` : 'none bound'}`,
    `boundary:  ${s.bindings.boundary ? `${s.bindings.boundary.boundary}${s.bindings.boundary.team_id ? ` (team ${s.bindings.boundary.team_id})` : ''}` : 'not declared'}`,
    `verify:    ${s.verify.posture}; ${s.verify.runs} run(s), ${s.verify.passed} passed, ${s.verify.failed} failed, ${s.verify.consecutive_failures} failing in a row`,
    `  last:    ${lv ? `${lv.passed ? 'passed' : 'FAILED'} \`${commandLine(lv.argv)}\` ${exitText(lv)} in ${seconds(lv.duration_ms)}${lv.truncated ? ', output truncated' : ''} at ${lv.at}` : 'never'}`,
    `nanites:   ${s.nanites.posture}; ${s.nanites.total} total, ${s.nanites.running} running, ${s.nanites.completed} completed, ${s.nanites.failed} failed, ${s.nanites.timeout} timed out, ${s.nanites.partial} partial`,
    `counts:    ${s.counts.findings} finding(s), ${s.counts.artifacts} artifact(s), ${s.counts.markers_open} open marker(s), ${s.counts.events} event(s)`,
    section(`preflight: ${s.preflight.ready ? 'ready' : 'not ready'}`, s.preflight.checks.map(check).join('\n')),
    section('drill in', drill.map(([name, d]) => `${name.padEnd(12)} ${d.verb}${d.count !== undefined ? ` (${d.count})` : ''}`).join('\n')),
  ].join('\n');
}

/** `bmo workstream show`. */
export function showText(w: ShowReply): string {
  return [
    `workstream ${w.workstream_id} "${w.label}": ${w.status}${w.status_reason ? ` (${w.status_reason})` : ''}, version ${w.version}, created ${w.created_at}, updated ${w.updated_at}`,
    ...(w.goal ? [`goal: ${w.goal}`] : []),
    `git: ${w.git ? gitWords(w.git) : 'no git context recorded'}`,
    `plan: ${w.plan ? `${w.plan.kind} ${w.plan.path} (bound ${w.plan.bound_at})` : 'none'}; boundary: ${w.boundary ? w.boundary.boundary : 'none'}; recipe: ${w.recipe.map((r) => r.step).join(', ') || 'none'}; sessions: ${w.sessions.join(', ') || 'none'}`,
    section(
      `verify runs (${w.verify_runs.length})`,
      w.verify_runs.length === 0 ? 'none' : table(['RUN', 'RESULT', 'MS', 'TRUNC', 'AT', 'COMMAND'], w.verify_runs.map((r) => [r.run_id, exitText(r), r.duration_ms, r.truncated ? 'yes' : 'no', r.recorded_at, commandLine(r.argv)])),
    ),
    section(
      `nanites (${w.nanites.length})`,
      w.nanites.length === 0 ? 'none' : table(['NANITE', 'STATE', 'SESSION', 'STARTED', 'PROMPT'], w.nanites.map((n) => [n.nanite_id, n.state, n.session_id, n.started_at, n.prompt.slice(0, 60)])),
    ),
    section(`findings (${w.findings.length})`, w.findings.length === 0 ? 'none' : table(['FINDING', 'SEVERITY', 'PATH', 'TEXT'], w.findings.map((f) => [f.finding_id, f.severity, f.path, f.text.slice(0, 80)]))),
    section(`artifacts (${w.artifacts.length})`, w.artifacts.length === 0 ? 'none' : table(['ARTIFACT', 'KIND', 'DIGEST', 'REF'], w.artifacts.map((a) => [a.artifact_id, a.kind, a.digest, a.ref]))),
    section(
      `markers (${w.markers.length})`,
      w.markers.length === 0 ? 'none' : table(['MARKER', 'OPEN', 'PATH', 'NOTE'], w.markers.map((m) => [m.marker_id, m.cleared_at ? 'cleared' : 'open', m.path, m.note.slice(0, 80)])),
    ),
    `(the full row with output tails and handoff texts: bmo workstream show ${w.workstream_id} --json)`,
  ].join('\n');
}

/** `bmo cartography`. */
export function cartographyText(c: CartographyReply): string {
  return [
    section(
      'heat: workstreams',
      c.heat.workstreams.length === 0
        ? 'none'
        : table(['WORKSTREAM', 'EVENTS', 'VERIFY', 'FAILED', 'NANITES', 'FINDINGS', 'MARKERS', 'LAST', 'LABEL'], c.heat.workstreams.map((w) => [w.workstream_id, w.events, w.verify_runs, w.verify_failures, w.nanites, w.findings, w.markers_added, w.last_at, w.label])),
    ),
    section(
      'heat: paths',
      c.heat.paths.length === 0 ? 'none' : table(['HITS', 'PLANS', 'FINDINGS', 'ARTIFACTS', 'MARKERS', 'OPEN', 'PATH'], c.heat.paths.map((p) => [p.hits, p.plans, p.findings, p.artifacts, p.markers_added, p.markers_open, p.path])),
    ),
    section('open markers', c.markers.length === 0 ? 'none' : table(['WORKSTREAM', 'MARKER', 'PATH', 'NOTE'], c.markers.map((m) => [m.workstream_id, m.marker_id, m.path, m.note]))),
    section('trail', c.trail.length === 0 ? 'nothing yet' : c.trail.map((t) => `${t.kind}: ${t.hint}`).join('\n')),
  ].join('\n');
}
