import { trailFor, type CartographyState } from './cartography.js';
import { commandLine, exitText, lastVerify, openMarkers, type WorkstreamView } from './workstream.js';

/** How much of each text a handoff carries; the full text stays one drill-in route away. */
export const HANDOFF_TEXT_CHARS = 4000;
export const HANDOFF_EXCERPT_CHARS = 1500;
export const HANDOFF_ROWS = 50;

function tail(text: string, max: number): { text: string; clipped: boolean } {
  return text.length <= max ? { text, clipped: false } : { text: text.slice(text.length - max), clipped: true };
}

const lastRows = <T>(rows: T[]) => rows.slice(Math.max(0, rows.length - HANDOFF_ROWS));

/**
 * The inspectable handoff: everything the next person needs without the transcript — identity,
 * plan, boundary, delegated lane results, findings, verification rows, artifacts, open markers,
 * status, the trail that concerns it and what to do next.
 */
export function buildHandoff(ws: WorkstreamView, cartography: CartographyState) {
  const base = `/v1/workstreams/${ws.workstream_id}`;
  const nanites = [...ws.nanites.values()];
  const last = lastVerify(ws);
  const open = openMarkers(ws);
  const next: string[] = [];
  if (!ws.plan) next.push(`bind a plan: bmo workstream set-plan ${ws.workstream_id} --path <file> --kind custom`);
  if (!ws.boundary) next.push(`declare the collaboration boundary: bmo workstream boundary ${ws.workstream_id} <boundary>`);
  if (!last) next.push(`record a verification: bmo workstream verify-run ${ws.workstream_id} <command…>`);
  else if (!last.passed) next.push(`the last verification failed (${exitText(last)}); fix and re-run: bmo workstream verify-run ${ws.workstream_id} -- ${commandLine(last.argv)}`);
  for (const nanite of nanites) {
    if (nanite.state === 'running') next.push(`nanite ${nanite.nanite_id} started at ${nanite.started_at} and never completed; if its run is gone, close it: bmo nanite close ${ws.workstream_id} ${nanite.nanite_id}`);
  }
  for (const marker of open) next.push(`inspect ${marker.path}: ${marker.note} (then bmo workstream marker clear ${ws.workstream_id} ${marker.marker_id})`);
  if (ws.status === 'active' && next.length === 0) next.push(`nothing open: set the outcome with bmo workstream set-status ${ws.workstream_id} completed`);
  return {
    workstream_id: ws.workstream_id,
    label: ws.label,
    status: ws.status,
    status_reason: ws.status_reason,
    version: ws.version,
    updated_at: ws.updated_at,
    plan: ws.plan ?? null,
    boundary: ws.boundary ?? null,
    nanites: {
      total: nanites.length,
      rows: lastRows(nanites).map((n) => {
        const handoff = tail(n.handoff ?? '', HANDOFF_TEXT_CHARS);
        return {
          nanite_id: n.nanite_id,
          session_id: n.session_id,
          prompt: n.prompt,
          state: n.state,
          exit_code: n.exit_code,
          duration_ms: n.duration_ms,
          started_at: n.started_at,
          completed_at: n.completed_at,
          handoff: handoff.text,
          handoff_clipped: handoff.clipped || n.truncated === true,
        };
      }),
    },
    findings: [...ws.findings.values()],
    verification: {
      total: ws.verify_runs.length,
      rows: lastRows(ws.verify_runs).map((r) => ({
        run_id: r.run_id,
        command: commandLine(r.argv),
        cwd: r.cwd,
        passed: r.passed,
        result: exitText(r),
        exit_code: r.exit_code,
        duration_ms: r.duration_ms,
        truncated: r.truncated,
        at: r.recorded_at,
        ...(r.passed ? {} : { output_excerpt: tail(r.output_tail, HANDOFF_EXCERPT_CHARS).text }),
      })),
    },
    artifacts: [...ws.artifacts.values()],
    open_markers: open,
    trail: trailFor(cartography, ws.workstream_id),
    next,
    drill_in: {
      show: base,
      status: `${base}/status`,
      verify_runs: `${base}/verify-runs`,
      nanites: `${base}/nanites`,
      events: `${base}/events`,
    },
  };
}

export type Handoff = ReturnType<typeof buildHandoff>;

const fence = (text: string) => {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}text\n${text.replace(/\n$/, '')}\n${ticks}`;
};
const cell = (value: unknown) => (value === undefined || value === null || value === '' ? '-' : String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, ' '));

/** The same handoff as markdown, for a person or the next agent's prompt. */
export function handoffMarkdown(h: Handoff): string {
  const out: string[] = [];
  out.push(`# Handoff: ${h.label}`, '');
  out.push(`- workstream: \`${h.workstream_id}\` (version ${h.version}, updated ${h.updated_at})`);
  out.push(`- status: **${h.status}**${h.status_reason ? ` — ${h.status_reason}` : ''}`);
  out.push(`- plan: ${h.plan ? `${h.plan.kind} \`${h.plan.path}\` (bound ${h.plan.bound_at})` : 'none bound'}`);
  out.push(`- boundary: ${h.boundary ? `${h.boundary.boundary}${h.boundary.team_id ? ` (team ${h.boundary.team_id})` : ''}${h.boundary.note ? ` — ${h.boundary.note}` : ''}` : 'not declared'}`);
  out.push('', '## Next', '', ...h.next.map((n) => `- ${n}`));

  out.push('', `## Verification (${h.verification.total})`, '');
  if (h.verification.rows.length === 0) out.push('No verification runs recorded.');
  else {
    out.push('| run | command | result | duration | truncated | at |', '|---|---|---|---|---|---|');
    for (const r of h.verification.rows) out.push(`| ${cell(r.run_id.slice(0, 8))} | \`${cell(r.command)}\` | ${r.passed ? 'passed' : `**failed** (${cell(r.result)})`} | ${r.duration_ms} ms | ${r.truncated ? 'yes' : 'no'} | ${cell(r.at)} |`);
    const lastFailed = [...h.verification.rows].reverse().find((r) => !r.passed);
    if (lastFailed && 'output_excerpt' in lastFailed && lastFailed.output_excerpt) out.push('', `Output tail of the last failed run (\`${lastFailed.command}\`):`, '', fence(lastFailed.output_excerpt));
  }

  out.push('', `## Delegated lanes (${h.nanites.total})`, '');
  if (h.nanites.rows.length === 0) out.push('No nanites run.');
  for (const n of h.nanites.rows) {
    out.push(`### nanite \`${n.nanite_id}\` — ${n.state}`, '');
    out.push(`- parent session: \`${n.session_id}\``, `- prompt: ${cell(n.prompt)}`);
    if (n.completed_at) out.push(`- exit code: ${cell(n.exit_code)}, ${n.duration_ms} ms, completed ${n.completed_at}`);
    if (n.handoff) out.push('', n.handoff_clipped ? '(tail of its output)' : 'Its output:', '', fence(n.handoff));
    out.push('');
  }
  if (out[out.length - 1] === '') out.pop();

  out.push('', `## Findings (${h.findings.length})`, '');
  if (h.findings.length === 0) out.push('None recorded.');
  for (const f of h.findings) out.push(`- **${f.severity}**${f.path ? ` \`${f.path}\`` : ''}: ${cell(f.text)}`);

  out.push('', `## Artifacts (${h.artifacts.length})`, '');
  if (h.artifacts.length === 0) out.push('None attached.');
  for (const a of h.artifacts) out.push(`- ${a.kind}: ${a.ref}${a.digest ? ` (${a.digest})` : ''}`);

  out.push('', `## Open markers (${h.open_markers.length})`, '');
  if (h.open_markers.length === 0) out.push('None.');
  for (const m of h.open_markers) out.push(`- \`${m.path}\`: ${cell(m.note)} (marker \`${m.marker_id}\`)`);

  if (h.trail.length > 0) {
    out.push('', '## Trail', '');
    for (const t of h.trail) out.push(`- ${t.kind}: ${t.hint}`);
  }
  out.push('', '---', `Drill in: \`GET ${h.drill_in.show}\`, \`${h.drill_in.status}\`, \`${h.drill_in.verify_runs}\`, \`${h.drill_in.nanites}\`, \`${h.drill_in.events}\``, '');
  return out.join('\n');
}
