// Builds DOM from data: text always goes in as text nodes, never parsed as HTML.

/** h('a', { href: '#/x', class: 'c' }, 'text', child): an element with attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** svg('rect', { x: 0, width: 10 }, svg('title', {}, 'text')): an SVG element; its attributes place it (the CSP allows no inline style). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null && value !== false) el.setAttribute(key, String(value));
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  // A live update re-renders what a keyboard user may be on: focus goes back to the same thing
  // (the focused element's id, else its nearest ancestor's), not to the page's body.
  const focused = document.activeElement;
  const id = focused && focused !== el && el.contains(focused) ? focused.closest('[id]')?.id : undefined;
  el.replaceChildren();
  append(el, children);
  const again = id ? document.getElementById(id) : null;
  if (again && el.contains(again)) {
    if (!again.matches('a[href], button, input, select, textarea, [tabindex]')) again.setAttribute('tabindex', '-1');
    again.focus({ preventScroll: true });
  }
  return el;
}

/**
 * A table with a caption (for screen readers: the section heading says it already), header cells
 * and rows; each cell carries its column's name, which a narrow window shows beside it.
 */
export function table(caption, headers, rows, attrs = {}) {
  for (const row of rows) [...row.children].forEach((cell, i) => cell.setAttribute('data-label', headers[i] ?? ''));
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { ...attrs, class: `stack ${attrs.class ?? ''}`.trim() },
      caption ? h('caption', { class: 'sr' }, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
      h('tbody', {}, rows),
    ),
  );
}

/** How long ago (or until) an ISO time, short: 12s, 4m 10s, 3h 2m, 2d. */
export function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function ago(iso) {
  if (!iso) return '—';
  return `${span(Date.now() - Date.parse(iso))} ago`;
}

/** A time element showing a relative time, the exact one on hover. */
export function when(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: iso }, ago(iso));
}

/**
 * Calls fn when a posture's teams (their liveness, leads, counts) differ from the last one's, not
 * on the first: a view has just loaded then. Not when only the remote's health moved: a read the
 * remote fails changes that, and reading again on it would go round for as long as it fails.
 */
export function whenTeamsMove(fn) {
  let last;
  return (posture) => {
    const key = JSON.stringify(posture.teams);
    if (last !== undefined && key !== last) fn();
    last = key;
  };
}

/** Calls fn at most once per `ms`, the last call winning. */
export function debounce(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

export function badge(text, kind = text) {
  return h('span', { class: `badge b-${String(kind).replace(/[^a-z0-9_-]/gi, '')}` }, text);
}
