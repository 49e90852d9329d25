// The seed's /team <id>: members with liveness, the task board, messages and the team's log, live.
import { api, enc } from '../api.js';
import { badge, debounce, fill, h, span, table, when, whenTeamsMove } from '../dom.js';

/** The log's tail the view reads on open: messages and log rows come from it. */
const LOG_TAIL = 200;

const COLUMNS = [
  ['ready', 'Ready', (t) => t.status === 'open' && t.ready],
  ['blocked', 'Blocked', (t) => t.status === 'open' && !t.ready],
  ['claimed', 'Claimed', (t) => t.status === 'claimed'],
  ['completed', 'Completed', (t) => t.status === 'completed'],
  ['failed', 'Failed', (t) => t.status === 'failed'],
];

/** Who made an event: the credential once bmo records one, else the session. */
/** An event's type as a person reads it: a lease renewed is a task_claimed of the same claim, said so. */
export const typeOf = (event) => (event.type === 'task_claimed' && event.data?.renewal ? 'task_claimed (renewal)' : event.type);

export const actorOf = (event) => event.meta?.actor?.id ?? event.meta?.actor ?? event.meta?.session_id ?? '—';

function lease(task) {
  if (task.status !== 'claimed' || !task.lease_expires_at) return null;
  return h('span', { class: 'lease', dataset: { expires: task.lease_expires_at } }, leaseText(task.lease_expires_at));
}

function leaseText(expires) {
  const left = Date.parse(expires) - Date.now();
  return left > 0 ? `lease ${span(left)} left` : 'lease lapsed';
}

function taskCard(task) {
  return h(
    'li',
    { class: `task s-${task.status}`, id: `task-${task.task_id}`, dataset: { task: task.task_id } },
    h('h4', {}, task.title),
    h('p', { class: 'muted mono' }, task.task_id),
    task.ready ? badge('ready') : null,
    task.owner ? h('p', {}, 'owner ', h('strong', {}, task.owner), ' ', lease(task)) : null,
    task.blocked_by.length
      ? h('p', { class: 'edges' }, 'after ', task.blocked_by.map((id, i) => [i ? ', ' : '', h('a', { href: `#task-${id}`, class: (task.waiting_on ?? []).includes(id) ? 'waiting' : 'done', onclick: focusTask(id) }, id)]))
      : null,
    task.error ? h('p', { class: 'error' }, task.error) : null,
  );
}

/** The hash is the router's: a blocked_by link moves focus to its card instead of navigating. */
const focusTask = (id) => (event) => {
  event.preventDefault();
  const card = document.getElementById(`task-${id}`);
  card?.setAttribute('tabindex', '-1');
  card?.focus();
};

function board(tasks) {
  return h(
    'div',
    { class: 'board' },
    COLUMNS.map(([key, title, test]) => {
      const mine = tasks.filter(test);
      return h('section', { class: `column c-${key}`, 'aria-labelledby': `col-${key}`, dataset: { column: key } }, h('h3', { id: `col-${key}` }, `${title} (${mine.length})`), h('ul', {}, mine.map(taskCard)));
    }),
  );
}

function members(list) {
  const rows = list.filter((m) => m.active).map((m) =>
    h('tr', {}, h('th', { scope: 'row' }, m.name, h('div', { class: 'muted mono' }, m.member_id)), h('td', {}, m.role), h('td', {}, badge(m.liveness ?? '—', m.liveness)), h('td', { class: 'mono' }, m.session_id ?? '—')),
  );
  return table('Members', ['Member', 'Role', 'Liveness', 'Session'], rows);
}

function messageItem(event, reads) {
  const d = event.data;
  const readBy = reads.get(d.message_id) ?? [];
  return h(
    'li',
    { class: 'message' },
    h('p', { class: 'meta' }, h('strong', {}, d.from), ' → ', d.to === '*' ? 'everyone' : h('strong', {}, d.to), ' · ', when(event.at), readBy.length ? ` · read by ${readBy.join(', ')}` : ' · unread'),
    h('p', { class: 'body' }, d.body),
  );
}

function logRow(event) {
  return h('tr', {}, h('td', { class: 'num' }, event.pos), h('td', { class: 'num' }, event.seq), h('td', {}, typeOf(event)), h('td', { class: 'mono' }, actorOf(event)), h('td', {}, when(event.at)));
}

export function teamView(main, { id }) {
  const stream = `teams/${id}`;
  const head = h('div', {}, h('h2', {}, `Team ${id}`), h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const memberBox = h('div');
  const boardBox = h('div');
  const messageBox = h('ol', { class: 'messages', reversed: true });
  const logBody = h('tbody');
  // The team's sections: hidden while the team cannot be read (removed, out of scope), not shown empty.
  const sections = h('div');
  main.append(
    h('p', {}, h('a', { href: '#/teams' }, '← All teams'), ' · ', h('a', { href: `#/teams/${id}/timeline` }, 'Timeline: who did what, when')),
    head,
    sections,
  );
  sections.append(
    h('section', { 'aria-labelledby': 'members-h' }, h('h3', { id: 'members-h' }, 'Members'), memberBox),
    h('section', { 'aria-labelledby': 'board-h' }, h('h3', { id: 'board-h' }, 'Tasks'), boardBox),
    h('div', { class: 'split' },
      h('section', { 'aria-labelledby': 'messages-h' }, h('h3', { id: 'messages-h' }, 'Messages'), messageBox),
      h('section', { 'aria-labelledby': 'log-h' }, h('h3', { id: 'log-h' }, 'Log'),
        h('div', { class: 'scroll log' }, h('table', {}, h('caption', {}, `The team's log, newest first (the last ${LOG_TAIL} events)`), h('thead', {}, h('tr', {}, ['Pos', 'Seq', 'Type', 'Actor', 'At'].map((c) => h('th', { scope: 'col' }, c)))), logBody)))),
  );

  let lastSeq = 0;
  /** Live events that came before the log's tail was read: taken after it, in order. */
  let early = [];
  const messages = [];
  const reads = new Map();

  function take(event) {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    logBody.prepend(logRow(event));
    while (logBody.children.length > LOG_TAIL) logBody.lastChild.remove();
    if (event.type === 'message_sent') messages.push(event);
    if (event.type === 'message_read') reads.set(event.data.message_id, [...(reads.get(event.data.message_id) ?? []), event.data.member_id]);
    if (event.type === 'message_sent' || event.type === 'message_read') fill(messageBox, messages.slice(-100).reverse().map((m) => messageItem(m, reads)));
  }

  async function loadTeam() {
    try {
      const [team, roster] = await Promise.all([api(`/v1/teams/${enc(id)}`), api(`/v1/teams/${enc(id)}/members`)]);
      fill(
        head,
        h('h2', {}, team.name, ' ', badge(team.status)),
        h('p', { class: 'muted mono' }, `${team.team_id} · version ${team.version} · lead ${team.lead_member_id ?? '—'}`),
        team.goal ? h('p', { class: 'goal' }, h('span', { class: 'muted' }, 'Goal: '), team.goal) : null,
      );
      fill(memberBox, members(roster.members));
      fill(boardBox, board(team.tasks));
      sections.hidden = false;
      return team;
    } catch (error) {
      sections.hidden = true;
      // A removed team's log stays, and its timeline with it: the page's own view of it, not the route.
      const removed = error.status === 404 && /was removed/.test(error.message);
      const words = removed ? `${error.message.split(';')[0]}. Its timeline stays: ` : error.message;
      fill(head, h('h2', {}, `Team ${id}`), h('p', { class: 'error', role: 'alert' }, words, removed ? h('a', { href: `#/teams/${id}/timeline` }, 'who did what, when') : null));
      return undefined;
    }
  }

  async function loadLog(version) {
    const from = Math.max(1, version - LOG_TAIL + 1);
    const answer = await api(`/v1/teams/${enc(id)}/events?from_seq=${from}`);
    for (const event of answer.events) take(event);
    for (const event of early) take(event);
    early = undefined;
    if (messages.length === 0) fill(messageBox, h('li', { class: 'muted' }, 'No messages in the last events.'));
  }

  const refresh = debounce(loadTeam, 150);
  const slowRefresh = debounce(loadTeam, 1000);
  const ticker = setInterval(() => {
    for (const el of boardBox.querySelectorAll('[data-expires]')) el.textContent = leaseText(el.dataset.expires);
  }, 1000);
  void loadTeam().then((team) => team && loadLog(team.version));
  return {
    onEvent: (event) => {
      if (event.stream === stream) {
        if (early) early.push(event);
        else take(event);
        refresh();
      } else if (event.stream.startsWith('sessions/')) slowRefresh();
    },
    onPosture: whenTeamsMove(slowRefresh),
    unmount: () => clearInterval(ticker),
  };
}
