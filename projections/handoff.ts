import { trailFor, type CartographyState } from './cartography.js';
import { commandLine, exitText, lastVerify, openMarkers, recipeSteps, verifyVerb, type FindingView, type WorkstreamView } from './workstream.js';

/** How much a compact handoff carries; `full` carries everything, and each section says how much it shows. */
export const HANDOFF_CAPS = { verification: 10, nanites: 3, findings: 15, artifacts: 10, markers: 10, next: 15 } as const;
/** How much of each long text a compact handoff keeps: output tails from their end, notes from their start. */
export const HANDOFF_TEXT_CHARS = 1200;
export const HANDOFF_NOTE_CHARS = 240;
/** The compact markdown's ceiling; a longer one is cut at a line and says so. */
export const HANDOFF_MD_BYTES = 16 * 1024;

/** The last `max` characters of a text, from a line boundary when it was clipped (a half line reads as noise). */
export function clipTail(text: string, max: number): { text: string; clipped: boolean } {
  if (text.length <= max) return { text, clipped: false };
  const cut = text.slice(text.length - max);
  const newline = cut.indexOf('\n');
  return { text: newline >= 0 && newline < cut.length - 1 ? cut.slice(newline + 1) : cut, clipped: true };
}

const clipNote = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const;

/** Findings by severity, then the most recent first. */
export function rankFindings(findings: Iterable<FindingView>): FindingView[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.recorded_at.localeCompare(a.recorded_at));
}

/** A capped section: the rows shown, how many there are, how many are shown. */
function section<T>(rows: T[], cap: number | undefined, fromEnd = false) {
  const shown = cap === undefined || rows.length <= cap ? rows : fromEnd ? rows.slice(rows.length - cap) : rows.slice(0, cap);
  return { total: rows.length, shown: shown.length, rows: shown };
}

function nextSteps(ws: WorkstreamView): string[] {
  const id = ws.workstream_id;
  const last = lastVerify(ws);
  const next: string[] = [];
  for (const f of rankFindings(ws.findings.values()).filter((f) => f.severity === 'critical')) {
    next.push(`critical finding ${f.finding_id}${f.path ? ` on ${f.path}` : ''}: ${clipNote(f.text, HANDOFF_NOTE_CHARS)}`);
  }
  if (!ws.plan) next.push(`bind a plan: bmo workstream set-plan ${id} --path <file> --kind custom`);
  if (!ws.boundary) next.push(`declare the collaboration boundary: bmo workstream boundary ${id} <boundary>`);
  if (!last) next.push(`record a verification: ${verifyVerb(ws)}`);
  else if (!last.passed) next.push(`the last verification failed (${exitText(last)}: \`${commandLine(last.argv)}\`); fix and re-run: ${verifyVerb(ws)}`);
  for (const nanite of ws.nanites.values()) {
    if (nanite.state === 'running') next.push(`nanite ${nanite.nanite_id} started at ${nanite.started_at} and never completed; if its run is gone, close it: bmo nanite close ${id} ${nanite.nanite_id}`);
  }
  for (const marker of openMarkers(ws)) next.push(`inspect ${marker.path}: ${clipNote(marker.note, HANDOFF_NOTE_CHARS)} (then bmo workstream marker clear ${id} ${marker.marker_id})`);
  if (ws.status === 'active' && next.length === 0) next.push(`nothing open: set the outcome with bmo workstream set-status ${id} completed`);
  return next;
}

function naniteRows(ws: WorkstreamView, full: boolean) {
  return section([...ws.nanites.values()], full ? undefined : HANDOFF_CAPS.nanites, true).rows.map((n) => {
    const handoff = full ? { text: n.handoff ?? '', clipped: false } : clipTail(n.handoff ?? '', HANDOFF_TEXT_CHARS);
    return {
      nanite_id: n.nanite_id,
      session_id: n.session_id,
      prompt: full ? n.prompt : clipNote(n.prompt, HANDOFF_NOTE_CHARS),
      state: n.state,
      exit_code: n.exit_code,
      duration_ms: n.duration_ms,
      started_at: n.started_at,
      completed_at: n.completed_at,
      git: n.git,
      handoff: handoff.text,
      handoff_clipped: handoff.clipped || n.truncated === true,
    };
  });
}

function verificationRows(ws: WorkstreamView, full: boolean) {
  return section(ws.verify_runs, full ? undefined : HANDOFF_CAPS.verification, true).rows.map((r) => ({
    run_id: r.run_id,
    step: r.step,
    command: commandLine(r.argv),
    cwd: r.cwd,
    passed: r.passed,
    result: exitText(r),
    exit_code: r.exit_code,
    duration_ms: r.duration_ms,
    truncated: r.truncated,
    commit: r.git?.commit,
    at: r.recorded_at,
    ...(r.passed ? {} : { output_excerpt: full ? r.output_tail : clipTail(r.output_tail, HANDOFF_TEXT_CHARS).text }),
  }));
}

/**
 * The inspectable handoff: everything the next person needs without the transcript — identity,
 * goal, git context, plan, recipe, boundary, delegated lane results, findings, verification rows,
 * artifacts, open markers, status, the trail that concerns it and what to do next. Compact unless
 * `full`: every section capped, saying how many of how many it shows.
 */
export function buildHandoff(ws: WorkstreamView, cartography: CartographyState, options: { full?: boolean } = {}) {
  const full = options.full === true;
  const base = `/v1/workstreams/${ws.workstream_id}`;
  const cap = (n: number) => (full ? undefined : n);
  const findings = section(rankFindings(ws.findings.values()), cap(HANDOFF_CAPS.findings));
  return {
    workstream_id: ws.workstream_id,
    label: ws.label,
    goal: ws.goal,
    git: ws.git ?? null,
    full,
    status: ws.status,
    status_reason: ws.status_reason,
    version: ws.version,
    updated_at: ws.updated_at,
    plan: ws.plan ?? null,
    recipe: recipeSteps(ws).map((s) => ({ step: s.step, command: commandLine(s.argv) })),
    boundary: ws.boundary ?? null,
    nanites: { total: ws.nanites.size, rows: naniteRows(ws, full) },
    findings: { ...findings, rows: findings.rows.map((f) => ({ ...f, text: full ? f.text : clipNote(f.text, HANDOFF_NOTE_CHARS) })) },
    verification: { total: ws.verify_runs.length, rows: verificationRows(ws, full) },
    artifacts: section([...ws.artifacts.values()], cap(HANDOFF_CAPS.artifacts), true),
    open_markers: section(openMarkers(ws), cap(HANDOFF_CAPS.markers)),
    trail: trailFor(cartography, ws.workstream_id),
    next: section(nextSteps(ws), cap(HANDOFF_CAPS.next)),
    drill_in: {
      show: base,
      status: `${base}/status`,
      verify_runs: `${base}/verify-runs`,
      nanites: `${base}/nanites`,
      events: `${base}/events`,
      full: `${base}/handoff?full=true`,
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

/** A section's heading: its title and count, and `showing N of M` when capped. */
const heading = (title: string, shown: number, total: number) => `## ${title} (${shown < total ? `showing ${shown} of ${total}` : total})`;

function identityLines(h: Handoff, asOf: string | undefined): string[] {
  const out = [`# Handoff: ${h.label}`, ''];
  if (asOf) out.push(`> As it was at ${asOf}, not as it is now.`, '');
  out.push(`- workstream: \`${h.workstream_id}\` (version ${h.version}, updated ${h.updated_at})`);
  if (h.goal) out.push(`- goal: ${cell(h.goal)}`);
  out.push(`- git: ${h.git ? gitWords(h.git) : 'no git context recorded'}`);
  out.push(`- status: **${h.status}**${h.status_reason ? ` — ${h.status_reason}` : ''}`);
  out.push(`- plan: ${h.plan ? `${h.plan.kind} \`${h.plan.path}\` (bound ${h.plan.bound_at}${h.plan.git ? ` on ${h.plan.git.branch ?? 'a detached HEAD'}` : ''})` : 'none bound'}`);
  if (h.recipe.length > 0) out.push(`- recipe: ${h.recipe.map((r) => `${r.step} (\`${cell(r.command)}\`)`).join(', ')}`);
  out.push(`- boundary: ${h.boundary ? `${h.boundary.boundary}${h.boundary.team_id ? ` (team ${h.boundary.team_id})` : ''}${h.boundary.note ? ` — ${h.boundary.note}` : ''}` : 'not declared'}`);
  return out;
}

/** A git context in a few words: branch, short commit, dirty, root. */
export function gitWords(git: { root: string; branch: string | null; commit: string; dirty: boolean }): string {
  return `${git.branch ?? '(detached)'} at ${git.commit.slice(0, 12)}${git.dirty ? ' (uncommitted changes)' : ''} in ${git.root}`;
}

function verificationLines(h: Handoff): string[] {
  const out = ['', heading('Verification', h.verification.rows.length, h.verification.total), ''];
  if (h.verification.rows.length === 0) return [...out, 'No verification runs recorded.'];
  out.push('| run | step | command | result | duration | truncated | commit | at |', '|---|---|---|---|---|---|---|---|');
  for (const r of h.verification.rows) {
    out.push(`| ${cell(r.run_id.slice(0, 8))} | ${cell(r.step)} | \`${cell(r.command)}\` | ${r.passed ? 'passed' : `**failed** (${cell(r.result)})`} | ${r.duration_ms} ms | ${r.truncated ? 'yes' : 'no'} | ${cell(r.commit?.slice(0, 12))} | ${cell(r.at)} |`);
  }
  const lastFailed = [...h.verification.rows].reverse().find((r) => !r.passed);
  if (lastFailed && 'output_excerpt' in lastFailed && lastFailed.output_excerpt) out.push('', `Output tail of the last failed run (\`${lastFailed.command}\`):`, '', fence(lastFailed.output_excerpt));
  return out;
}

function naniteLines(h: Handoff): string[] {
  const out = ['', heading('Delegated lanes', h.nanites.rows.length, h.nanites.total), ''];
  if (h.nanites.rows.length === 0) return [...out, 'No nanites run.'];
  for (const n of h.nanites.rows) {
    out.push(`### nanite \`${n.nanite_id}\` — ${n.state}`, '');
    out.push(`- parent session: \`${n.session_id}\``, `- prompt: ${cell(n.prompt)}`);
    if (n.completed_at) out.push(`- exit code: ${cell(n.exit_code)}, ${n.duration_ms} ms, completed ${n.completed_at}`);
    if (n.handoff) out.push('', n.handoff_clipped ? '(tail of its output)' : 'Its output:', '', fence(n.handoff));
    out.push('');
  }
  out.pop();
  return out;
}

function listLines(h: Handoff): string[] {
  const out = ['', heading('Findings', h.findings.shown, h.findings.total), ''];
  if (h.findings.total === 0) out.push('None recorded.');
  for (const f of h.findings.rows) out.push(`- **${f.severity}**${f.path ? ` \`${f.path}\`` : ''}: ${cell(f.text)}`);
  out.push('', heading('Artifacts', h.artifacts.shown, h.artifacts.total), '');
  if (h.artifacts.total === 0) out.push('None attached.');
  for (const a of h.artifacts.rows) out.push(`- ${a.kind}: ${a.ref}${a.digest ? ` (${a.digest})` : ''}`);
  out.push('', heading('Open markers', h.open_markers.shown, h.open_markers.total), '');
  if (h.open_markers.total === 0) out.push('None.');
  for (const m of h.open_markers.rows) out.push(`- \`${m.path}\`: ${cell(m.note)} (marker \`${m.marker_id}\`)`);
  if (h.trail.length > 0) out.push('', '## Trail', '', ...h.trail.map((t) => `- ${t.kind}: ${t.hint}`));
  return out;
}

/**
 * The same handoff as markdown, for a person or the next agent's prompt. Compact, it stays under
 * 16 KB: past that it is cut at a line, saying so, and the drill-in line stays last.
 */
export function handoffMarkdown(h: Handoff, asOf?: string): string {
  const body = [
    ...identityLines(h, asOf),
    '',
    heading('Next', h.next.shown, h.next.total),
    '',
    ...h.next.rows.map((n) => `- ${n}`),
    ...verificationLines(h),
    ...naniteLines(h),
    ...listLines(h),
  ].join('\n');
  const id = h.workstream_id;
  const footer = `\n\n---\nDrill in: \`bmo workstream show ${id}\`, \`bmo workstream status ${id}\`, \`bmo workstream handoff ${id} --full\` (HTTP: \`GET ${h.drill_in.show}\`, \`${h.drill_in.full}\`)\n`;
  if (h.full || Buffer.byteLength(body + footer) <= HANDOFF_MD_BYTES) return body + footer;
  const note = `\n\n(cut at ${HANDOFF_MD_BYTES / 1024} KB; bmo workstream handoff ${id} --full gives everything)`;
  let cut = Buffer.from(body).subarray(0, HANDOFF_MD_BYTES - Buffer.byteLength(footer + note)).toString('utf8');
  cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')));
  return cut + note + footer;
}
