// A team's timeline (GET /v1/teams/{id}/timeline) as a swimlane per member: when they were in the
// team, each task claim as a bar from claim to its end, the messages they sent as marks.
import { api, enc } from '../api.js';
import { badge, debounce, fill, h, span, svg, when } from '../dom.js';

/** Pages of 1000 entries the view reads at most; past them it says the timeline was cut. */
const MAX_PAGES = 10;
/** A lane's drawing is this wide in its own units, stretched to the lane's width. */
const WIDTH = 1000;

async function readTimeline(id) {
  const base = `/v1/teams/${enc(id)}/timeline?limit=1000`;
  let answer = await api(base);
  const entries = [...answer.entries];
  for (let pages = 1; answer.next_cursor && pages < MAX_PAGES; pages++) {
    answer = await api(`${base}&cursor=${enc(answer.next_cursor)}`);
    entries.push(...answer.entries);
  }
  return { ...answer, entries, cut: Boolean(answer.next_cursor) };
}

const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

/** Each member's lane: their spans in the team, their claims, the messages they sent. */
function lanesOf(timeline) {
  const lanes = new Map();
  const lane = (memberId) => {
    if (!lanes.has(memberId)) lanes.set(memberId, { member_id: memberId, name: memberId, role: 'member', spans: [], claims: [], sent: [] });
    return lanes.get(memberId);
  };
  for (const entry of timeline.entries) {
    if (entry.kind === 'member') Object.assign(lane(entry.member_id), { name: entry.name, role: entry.role }).spans.push(entry);
    else if (entry.kind === 'task') for (const claim of entry.claims) lane(claim.member_id).claims.push({ ...claim, task: entry });
    else for (const message of entry.messages) lane(message.from).sent.push(message);
  }
  return [...lanes.values()];
}

function claimTitle(claim) {
  const end = claim.end ? `${claim.end}${claim.reclaim_reason ? ` (${claim.reclaim_reason})` : ''} ${time(claim.ended_at)}` : 'still held';
  const renewals = claim.renewal_count ? `, renewed ${claim.renewal_count}×` : '';
  return `${claim.task.title} (${claim.task.task_id}): claimed ${time(claim.claimed_at)} with token ${claim.fencing_token}${renewals}, ${end}, held ${span(claim.held_ms)}`;
}

/**
 * A lane's claims, each on a row of the lane's claim band: the first row free at its start, so
 * claims that overlap in time (two tasks held at once) are drawn one above the other, not over
 * each other.
 */
export function claimRows(claims, until) {
  const rowEnds = [];
  return [...claims]
    .sort((a, b) => Date.parse(a.claimed_at) - Date.parse(b.claimed_at))
    .map((claim) => {
      const start = Date.parse(claim.claimed_at);
      let row = rowEnds.findIndex((end) => end <= start);
      if (row === -1) row = rowEnds.length;
      rowEnds[row] = Date.parse(claim.ended_at ?? until);
      return { claim, row };
    });
}

/** One lane as an SVG stretched to the lane's width: x runs from the team's creation to its end. */
function laneDrawing(lane, x, until, gone) {
  // At least 3 units wide, and inside the drawing: a claim taken at the last event still shows.
  const rect = (cls, from, to, title, y = 2, height = 20) => {
    const width = Math.max(x(to) - x(from), 3);
    return svg('rect', { class: cls, x: Math.min(x(from), WIDTH - width), y, width, height }, svg('title', {}, title));
  };
  const ends = { completed: 0, failed: 0, reclaimed: 0, released: 0, held: 0 };
  for (const claim of lane.claims) ends[claim.end ?? 'held']++;
  const summary = [
    `${lane.name}: ${lane.spans.map((s) => `in the team ${time(s.joined_at)} to ${s.left_at ? time(s.left_at) : 'the end'}`).join(', ') || 'never joined'}`,
    `${lane.claims.length} claim(s)${lane.claims.length ? ` (${Object.entries(ends).filter(([, n]) => n).map(([end, n]) => `${n} ${end}`).join(', ')})` : ''}`,
    `${lane.sent.length} message(s) sent`,
  ].join('; ');
  return svg(
    'svg',
    { class: 'swim-drawing', viewBox: `0 0 ${WIDTH} 24`, preserveAspectRatio: 'none', role: 'img', 'aria-label': summary },
    lane.spans.map((s) => [
      rect('presence', s.joined_at, s.left_at ?? until, `${lane.name} in the team from ${time(s.joined_at)}${s.left_at ? ` to ${time(s.left_at)}${s.left_reason ? ` (${s.left_reason})` : ''}` : ''}`),
      rect('joined', s.joined_at, s.joined_at, `joined ${time(s.joined_at)}`),
      s.left_at ? rect('left', s.left_at, s.left_at, `left ${time(s.left_at)}`) : null,
    ]),
    claimBars(lane.claims, until, rect),
    lane.sent.map((m) => rect('sent', m.sent_at, m.sent_at, `${time(m.sent_at)} ${m.from} → ${m.to === '*' ? 'everyone' : m.to}${m.reads.length ? `, read by ${m.reads.map((r) => r.member_id).join(', ')}` : ''}`, 0, 7)),
    gone ? rect('gone', gone.at, gone.at, `lead gone (${gone.how}) ${time(gone.at)}`, 0, 24) : null,
  );
}

/** The claims' bars in the lane's band (y 6 to 18), a row each for claims that overlap. */
function claimBars(claims, until, rect) {
  const placed = claimRows(claims, until);
  const height = 12 / Math.max(1, ...placed.map((p) => p.row + 1));
  return placed.map(({ claim, row }) => rect(`claim c-${claim.end ?? 'held'}`, claim.claimed_at, claim.ended_at ?? until, claimTitle(claim), 6 + row * height, height));
}

function legend() {
  const key = (cls, text) => h('li', {}, svg('svg', { class: 'key', viewBox: '0 0 16 12', 'aria-hidden': 'true' }, svg('rect', { class: cls, x: 0, y: 0, width: 16, height: 12 })), text);
  return h('ul', { class: 'swim-legend', 'aria-label': 'Legend' }, key('presence', 'in the team'), key('claim c-completed', 'claim → completed'), key('claim c-failed', 'failed'), key('claim c-reclaimed', 'reclaimed or released'), key('claim c-held', 'still held'), key('sent', 'message sent'), key('gone', 'lead gone'));
}

function swimlanes(timeline) {
  const { team, lead } = timeline;
  const start = Date.parse(team.created_at);
  const length = Math.max(Date.parse(team.until) - start, 1000);
  const x = (iso) => Math.min(WIDTH, Math.max(0, ((Date.parse(iso) - start) / length) * WIDTH));
  const lanes = lanesOf(timeline);
  return h(
    'div',
    { class: 'swimlanes' },
    legend(),
    h('div', { class: 'swim-axis muted', 'aria-hidden': 'true' }, h('span', {}, time(team.created_at)), h('span', {}, `${span(team.duration_ms)} in all`), h('span', {}, time(team.until))),
    h(
      'ol',
      { class: 'swim-lanes', 'aria-label': 'One lane per member, time running left to right' },
      lanes.map((lane) =>
        h(
          'li',
          { class: 'swim-lane', dataset: { member: lane.member_id } },
          h('div', { class: 'swim-name' }, h('strong', {}, lane.name), lane.member_id === lead.member_id ? ' (lead)' : '', h('div', { class: 'muted mono' }, lane.member_id)),
          laneDrawing(lane, x, team.until, lane.member_id === lead.member_id ? lead.gone : null),
        ),
      ),
    ),
  );
}

export function timelineView(main, { id }) {
  const head = h('div', {}, h('h2', {}, `Timeline of team ${id}`), h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const body = h('div');
  main.append(h('p', {}, h('a', { href: `#/teams/${id}` }, `← Team ${id}`)), head, body);

  async function load() {
    try {
      const timeline = await readTimeline(id);
      const { team, counts } = timeline;
      fill(
        head,
        h('h2', {}, `Timeline of ${team.name} `, badge(team.status)),
        h('p', { class: 'muted' }, `Created `, when(team.created_at), ` · ${span(team.duration_ms)} to ${team.removed ? 'its removal' : 'its last event'} · ${counts.members} member span(s), ${counts.tasks} task(s), ${counts.threads} thread(s), ${counts.events} events`),
        timeline.cut ? h('p', { class: 'error' }, `Only the first ${timeline.entries.length} entries are drawn (bmo team timeline ${id} --json reads them all).`) : null,
      );
      fill(body, swimlanes(timeline));
    } catch (error) {
      fill(head, h('h2', {}, `Timeline of team ${id}`), h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  const refresh = debounce(load, 500);
  void load();
  return {
    onEvent: (event) => {
      if (event.stream === `teams/${id}`) refresh();
    },
  };
}
