// The live tail: every event as it commits, filtered, paused and resumed; after a reconnect it
// goes on from the last pos it showed.
import { h } from '../dom.js';
import { actorOf, typeOf } from './team.js';

/** The events the page keeps for the tail, newest last, at most `capacity`. */
export class TailBuffer {
  constructor(capacity) {
    this.capacity = capacity;
    this.events = [];
    this.listeners = new Set();
  }

  push(event) {
    this.events.push(event);
    if (this.events.length > this.capacity) this.events.shift();
    for (const listener of this.listeners) listener(event);
  }

  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

function matches(filter, event) {
  if (!filter) return true;
  return filter.split(/\s+/).every((word) => event.stream.includes(word) || event.type.includes(word) || String(actorOf(event)).includes(word));
}

function row(event) {
  return h(
    'tr',
    { dataset: { pos: event.pos, stream: event.stream } },
    // Each cell names its column: a narrow window stacks the row and shows the name beside it.
    h('td', { class: 'num', 'data-label': 'Pos' }, event.pos),
    h('td', { class: 'mono', 'data-label': 'Time' }, event.at.slice(11, 23)),
    h('td', { class: 'mono', 'data-label': 'Stream#seq' }, `${event.stream}#${event.seq}`),
    h('td', { 'data-label': 'Type' }, typeOf(event)),
    h('td', { class: 'mono', 'data-label': 'Actor' }, actorOf(event)),
  );
}

export function tailView(main, { state }) {
  const filterInput = h('input', { id: 'tail-filter', type: 'search', placeholder: 'teams/docs task_claimed …', autocomplete: 'off' });
  const pause = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
  const note = h('p', { class: 'muted', role: 'status' });
  const body = h('tbody');
  main.append(
    h('h2', {}, 'Live tail'),
    h('form', { class: 'tail-controls', role: 'search', onsubmit: (e) => e.preventDefault() }, h('label', { for: 'tail-filter' }, 'Filter (stream, type or actor; words must all match)'), filterInput, pause),
    note,
    h('div', { class: 'scroll tail' }, h('table', { id: 'tail', class: 'stack' }, h('caption', { class: 'sr' }, 'Events, newest first'), h('thead', {}, h('tr', {}, ['Pos', 'Time', 'Stream#seq', 'Type', 'Actor'].map((c) => h('th', { scope: 'col' }, c)))), body)),
  );
  let paused = false;
  let missed = 0;
  const render = () => {
    const filter = filterInput.value.trim();
    body.replaceChildren(...state.tail.events.filter((e) => matches(filter, e)).reverse().map(row));
    missed = 0;
    note.textContent = paused ? 'Paused.' : `${state.tail.events.length} event(s) kept; live from pos ${state.stream?.lastPos ?? 0}.`;
  };
  const unlisten = state.tail.listen((event) => {
    if (paused) {
      note.textContent = `Paused: ${++missed} new event(s) held.`;
      return;
    }
    if (matches(filterInput.value.trim(), event)) body.prepend(row(event));
    while (body.children.length > state.tail.capacity) body.lastChild.remove();
    note.textContent = `${state.tail.events.length} event(s) kept; live from pos ${event.pos}.`;
  });
  filterInput.addEventListener('input', render);
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    render();
  });
  render();
  return { unmount: unlisten };
}
