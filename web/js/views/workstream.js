// One workstream: plan, boundary, verify runs as a pass/fail timeline, nanite lanes, findings,
// markers, and the handoff rendered from its markdown.
import { api, enc } from '../api.js';
import { badge, debounce, fill, h, span, when } from '../dom.js';
import { renderMarkdown } from '../markdown.js';

function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id }, h('h3', { id }, title), ...children);
}

/** A run in words: what ran, how it ended, how long, when. */
const runWords = (run) => `${run.argv.join(' ')} → ${run.timed_out ? 'timed out' : `exit ${run.exit_code}`} in ${span(run.duration_ms)} (${run.recorded_at})`;

function timeline(runs) {
  if (runs.length === 0) return h('p', { class: 'muted' }, 'No verify runs recorded.');
  // The marks name themselves on hover; the last run is also said in words, for keyboard and touch.
  const last = runs[runs.length - 1];
  return [timelineMarks(runs), h('p', { class: 'muted last-run' }, `Last run: ${last.passed ? 'passed' : 'failed'}, ${runWords(last)}`)];
}

function timelineMarks(runs) {
  return h(
    'ol',
    { class: 'timeline', 'aria-label': 'Verify runs, oldest first' },
    runs.map((run) =>
      h(
        'li',
        { class: run.passed ? 'pass' : 'fail', title: runWords(run) },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, run.passed ? '✓' : '✗'),
        h('span', { class: 'sr' }, `${run.passed ? 'passed' : 'failed'}: ${run.argv.join(' ')}, ${run.recorded_at}`),
      ),
    ),
  );
}

function lanes(nanites) {
  if (nanites.length === 0) return h('p', { class: 'muted' }, 'No nanites run.');
  return h(
    'ul',
    { class: 'lanes' },
    nanites.map((n) =>
      h('li', { class: `lane n-${n.state}` }, badge(n.state), ' ', h('span', { class: 'mono' }, n.nanite_id), ' · ', when(n.started_at), n.duration_ms !== undefined ? ` · ${span(n.duration_ms)}` : '', h('p', { class: 'body' }, n.prompt)),
    ),
  );
}

function findings(list) {
  if (list.length === 0) return h('p', { class: 'muted' }, 'None recorded.');
  return h('ul', { class: 'findings' }, list.map((f) => h('li', {}, badge(f.severity), f.path ? [' ', h('code', {}, f.path)] : null, h('p', { class: 'body' }, f.text))));
}

function markers(list) {
  if (list.length === 0) return h('p', { class: 'muted' }, 'None.');
  return h('ul', { class: 'markers' }, list.map((m) => h('li', {}, m.cleared_at ? badge('cleared') : badge('open', 'warn'), ' ', h('code', {}, m.path), ': ', m.note)));
}

export function workstreamView(main, { id }) {
  const head = h('div', {}, h('h2', {}, `Workstream ${id}`), h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const body = h('div');
  const handoff = h('div', { class: 'handoff' });
  main.append(h('p', {}, h('a', { href: '#/workstreams' }, '← All workstreams')), head, body, section('handoff-h', 'Handoff', handoff));

  async function load() {
    try {
      const [ws, md] = await Promise.all([api(`/v1/workstreams/${enc(id)}`), api(`/v1/workstreams/${enc(id)}/handoff?format=md`, { accept: 'text/markdown' })]);
      fill(head, h('h2', {}, ws.label, ' ', badge(ws.status)), h('p', { class: 'muted mono' }, `${ws.workstream_id} · version ${ws.version}${ws.status_reason ? ` · ${ws.status_reason}` : ''}`));
      fill(
        body,
        h('dl', { class: 'facts' },
          h('dt', {}, 'Plan'), h('dd', {}, ws.plan ? [ws.plan.kind, ' ', h('code', {}, ws.plan.path)] : 'none bound'),
          h('dt', {}, 'Boundary'), h('dd', {}, ws.boundary ? [ws.boundary.boundary, ws.boundary.team_id ? ` (team ${ws.boundary.team_id})` : '', ws.boundary.note ? ` — ${ws.boundary.note}` : ''] : 'not declared'),
          h('dt', {}, 'Sessions'), h('dd', { class: 'mono' }, ws.sessions.join(', ') || '—')),
        section('verify-h', `Verify runs (${ws.verify_runs.length})`, timeline(ws.verify_runs)),
        section('lanes-h', `Nanite lanes (${ws.nanites.length})`, lanes(ws.nanites)),
        section('findings-h', `Findings (${ws.findings.length})`, findings(ws.findings)),
        section('markers-h', `Markers (${ws.markers.length})`, markers(ws.markers)),
      );
      fill(handoff, renderMarkdown(md));
    } catch (error) {
      fill(head, h('h2', {}, `Workstream ${id}`), h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }
  const refresh = debounce(load, 250);
  void load();
  return {
    onEvent: (event) => {
      if (event.stream === `workstreams/${id}` || event.stream.startsWith('workstreams/')) refresh();
    },
  };
}
