// The seed's /teams: one row per team, a page at a time from the paged list API, kept live.
import { page } from '../api.js';
import { badge, debounce, fill, h, table, when, whenTeamsMove } from '../dom.js';

const LIMIT = 50;

function teamRow(team) {
  const t = team.tasks;
  return h(
    'tr',
    { dataset: { team: team.team_id } },
    h('th', { scope: 'row' }, h('a', { href: `#/teams/${team.team_id}` }, team.name), h('div', { class: 'muted mono' }, team.team_id)),
    h('td', {}, badge(team.status)),
    h('td', {}, team.lead_member_id ?? '—', ' ', badge(team.lead ?? '—', team.lead)),
    h('td', { class: 'num' }, team.members),
    h('td', {}, `${t.open} open · ${t.claimed} claimed · ${t.completed} done`, t.failed ? ` · ${t.failed} failed` : '', h('div', { class: 'muted' }, `${t.ready} ready, ${t.blocked} blocked`)),
    h('td', { class: 'num' }, team.messages.unread),
    h('td', {}, when(team.updated_at)),
  );
}

export function teamsView(main) {
  const cursors = [undefined];
  let index = 0;
  let next;
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading teams…');
  const list = h('div');
  const prev = h('button', { type: 'button', disabled: true }, 'Previous page');
  const more = h('button', { type: 'button', disabled: true }, 'Next page');
  main.append(h('h2', {}, 'Teams'), status, list, h('nav', { class: 'pager', 'aria-label': 'Pages of teams' }, prev, more));

  async function load() {
    try {
      const answer = await page('/v1/teams', 'teams', LIMIT, cursors[index]);
      next = answer.next;
      prev.disabled = index === 0;
      more.disabled = !next;
      status.textContent = answer.items.length === 0 && index === 0 ? 'No teams yet: POST /v1/teams creates one.' : `Page ${index + 1}, ${answer.items.length} team(s), as of pos ${answer.pos}.`;
      fill(list, answer.items.length === 0 ? null : table('Teams', ['Team', 'Status', 'Lead', 'Members', 'Tasks', 'Unread', 'Updated'], answer.items.map(teamRow), { class: 'teams' }));
    } catch (error) {
      status.textContent = error.code === 'teams_disabled' ? 'Teams are disabled on this server ([options.teams] enabled = true turns them on).' : `Could not list teams: ${error.message}`;
    }
  }
  prev.addEventListener('click', () => {
    index = Math.max(0, index - 1);
    void load();
  });
  more.addEventListener('click', () => {
    if (!next) return;
    cursors[++index] = next;
    void load();
  });
  const refresh = debounce(load, 200);
  const slowRefresh = debounce(load, 1000);
  void load();
  return {
    onEvent: (event) => {
      if (event.stream.startsWith('teams/') || event.stream.startsWith('sessions/')) refresh();
    },
    // Liveness moves with the clock alone: the posture's teams change then, and the page is read again.
    onPosture: whenTeamsMove(slowRefresh),
  };
}
