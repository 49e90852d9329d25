// Workstreams: the list, and the cartography heat across them, kept live.
import { api } from '../api.js';
import { badge, debounce, fill, h, table, when } from '../dom.js';

function workstreamRow(ws) {
  const verify = ws.last_verify ? badge(ws.last_verify.passed ? 'passed' : 'failed') : h('span', { class: 'muted' }, 'none');
  return h(
    'tr',
    { dataset: { workstream: ws.workstream_id } },
    h('th', { scope: 'row' }, h('a', { href: `#/workstreams/${ws.workstream_id}` }, ws.label), h('div', { class: 'muted mono' }, ws.workstream_id)),
    h('td', {}, badge(ws.status)),
    h('td', { class: 'mono' }, ws.plan ? `${ws.plan.kind} ${ws.plan.path}` : '—'),
    h('td', {}, ws.boundary ?? '—'),
    h('td', {}, verify, ` ${ws.counts.verify_runs} run(s)`),
    h('td', {}, `${ws.counts.nanites} nanites · ${ws.counts.findings} findings · ${ws.counts.open_markers} open markers`),
    h('td', {}, when(ws.updated_at)),
  );
}

/** A bar whose length is `value` of `max`, with the number beside it for those who do not see the bar. */
export function heatBar(value, max, label) {
  return h('span', { class: 'heat' }, h('meter', { min: 0, max: Math.max(max, 1), value, 'aria-label': label }), ` ${value}`);
}

function heat(carto) {
  const wsMax = Math.max(0, ...carto.heat.workstreams.map((w) => w.events));
  const pathMax = Math.max(0, ...carto.heat.paths.map((p) => p.hits));
  return [
    table('Heat per workstream (events)', ['Workstream', 'Events', 'Verify failures', 'Nanites', 'Findings', 'Last'],
      carto.heat.workstreams.map((w) => h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `#/workstreams/${w.workstream_id}` }, w.label)), h('td', {}, heatBar(w.events, wsMax, `${w.label}: ${w.events} events`)), h('td', { class: 'num' }, w.verify_failures), h('td', { class: 'num' }, w.nanites), h('td', { class: 'num' }, w.findings), h('td', {}, when(w.last_at))))),
    table('Heat per path (hits)', ['Path', 'Hits', 'Findings', 'Open markers', 'Workstreams'],
      carto.heat.paths.map((p) => h('tr', {}, h('th', { scope: 'row', class: 'mono' }, p.path), h('td', {}, heatBar(p.hits, pathMax, `${p.path}: ${p.hits} hits`)), h('td', { class: 'num' }, p.findings), h('td', { class: 'num' }, p.markers_open), h('td', { class: 'mono' }, Object.keys(p.workstreams).join(', '))))),
    carto.trail.length
      ? h('section', { 'aria-labelledby': 'trail-h' }, h('h3', { id: 'trail-h' }, 'Trail'), h('ul', { class: 'trail' }, carto.trail.map((s) => h('li', {}, badge(s.kind ?? 'signal', 'warn'), ' ', h('span', { class: 'mono' }, s.command ?? s.path), ': ', s.hint))))
      : null,
  ];
}

export function workstreamsView(main) {
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading workstreams…');
  const list = h('div');
  const cartography = h('div');
  main.append(h('h2', {}, 'Workstreams'), status, list, h('section', { 'aria-labelledby': 'carto-h' }, h('h2', { id: 'carto-h' }, 'Cartography'), cartography));

  async function load() {
    try {
      const [answer, carto] = await Promise.all([api('/v1/workstreams'), api('/v1/cartography?limit=20')]);
      status.textContent = answer.workstreams.length === 0 ? 'No workstreams yet: bmo workstream create --label L makes one.' : `${answer.workstreams.length} workstream(s), as of pos ${answer.pos}.`;
      fill(list, answer.workstreams.length ? table('Workstreams', ['Workstream', 'Status', 'Plan', 'Boundary', 'Last verify', 'Evidence', 'Updated'], answer.workstreams.map(workstreamRow)) : null);
      fill(cartography, carto.totals.workstreams ? heat(carto) : h('p', { class: 'muted' }, 'No heat yet.'));
    } catch (error) {
      status.textContent = `Could not list workstreams: ${error.message}`;
    }
  }
  const refresh = debounce(load, 250);
  void load();
  return {
    onEvent: (event) => {
      if (event.stream.startsWith('workstreams/')) refresh();
    },
  };
}
