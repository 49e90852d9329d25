import type { PresentedTimeline, TimelineEntry } from '../../projections/timeline.js';
import { ensureOk, type Connection } from './connect.js';
import { section } from './format.js';

type Entry<K extends TimelineEntry['kind']> = Extract<TimelineEntry, { kind: K }>;

/** Pages a CLI follows at most: 100 pages of 1000 entries; past them it says the timeline was cut. */
const MAX_PAGES = 100;

/** Every page of a team's timeline, the cursors followed. */
export async function fetchTimeline(connection: Connection, id: string): Promise<PresentedTimeline & { entries: TimelineEntry[]; cut: boolean }> {
  const base = `/v1/teams/${encodeURIComponent(id)}/timeline?limit=1000`;
  let page = ensureOk(await connection.request('GET', base));
  const entries: TimelineEntry[] = [...page.entries];
  let pages = 1;
  while (page.next_cursor && pages < MAX_PAGES) {
    page = ensureOk(await connection.request('GET', `${base}&cursor=${encodeURIComponent(page.next_cursor)}`));
    entries.push(...page.entries);
    pages++;
  }
  return { ...page, entries, cut: Boolean(page.next_cursor) };
}

/** `3h02m`, `4m05s`, `12s`, `850ms`: the shortest that still reads. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

const time = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** What an open span reads as: the team still runs, or it was removed with the span open. */
type Open = { member: string; claim: string };
const OPEN: Open = { member: 'still a member', claim: 'still held' };
const OPEN_AT_REMOVAL: Open = { member: 'a member until the team was removed', claim: 'held until the team was removed' };

function memberLine(m: Entry<'member'>, open: Open): string {
  const left = m.left_at ? `left ${time(m.left_at)}${m.left_reason ? ` (${m.left_reason})` : ''}` : open.member;
  return `${m.member_id}${m.role === 'lead' ? ' (lead)' : ''}  joined ${time(m.joined_at)}, ${left}, active ${formatDuration(m.active_ms)}`;
}

function taskLines(t: Entry<'task'>, open: Open): string[] {
  const head = `${t.task_id} "${t.title}": created ${time(t.created_at)}, ${t.status}${t.ended_at ? ` ${time(t.ended_at)} after ${formatDuration(t.duration_ms)}` : ''}${t.claims.length ? `, waited ${formatDuration(t.wait_ms)} for a claim` : ''}`;
  const claims = t.claims.map((c) => {
    const renewals = c.renewal_count ? `, renewed ${c.renewal_count}× (last ${time(c.renewals.at(-1))})` : '';
    const end = c.end ? `, ${c.end}${c.reclaim_reason ? ` (${c.reclaim_reason})` : ''} ${time(c.ended_at)}` : `, ${open.claim}`;
    return `  ${c.member_id} claimed ${time(c.claimed_at)} (token ${c.fencing_token})${renewals}${end}, held ${formatDuration(c.held_ms)}`;
  });
  return [head, ...claims];
}

function threadLines(t: Entry<'thread'>): string[] {
  const title = t.members[1] === '*' ? `${t.members[0]} → everyone` : `${t.members[0]} ↔ ${t.members[1]}`;
  const head = `${title}: ${t.message_count} message(s), ${t.read_count} read, ${time(t.first_at)} → ${time(t.last_at)}`;
  const shown = t.message_count > t.messages.length ? [`  … ${t.message_count - t.messages.length} earlier`] : [];
  const messages = t.messages.map((m) => `  ${time(m.sent_at)}  ${m.from} → ${m.to}${m.reads.length ? `  read by ${m.reads.map((r) => `${r.member_id} ${time(r.at)}`).join(', ')}` : ''}`);
  return [head, ...shown, ...messages];
}

/** The timeline for people: the team's life, then members, tasks and threads, each in the order they began. */
export function timelineText(timeline: PresentedTimeline & { cut: boolean }): string {
  const { team, lead } = timeline;
  const shutdown = team.shutdown ? `shut down ${time(team.shutdown.at)}${team.shutdown.reason ? ` (${team.shutdown.reason})` : ''}` : undefined;
  const removed = team.removed ? `removed (${team.removed.reason}) ${time(team.removed.at)}` : undefined;
  const end = [shutdown, removed].filter(Boolean).join(', ') || `active, last event ${time(team.until)}`;
  const span = team.removed ? 'in all' : 'from its creation to its last event';
  const open = team.removed ? OPEN_AT_REMOVAL : OPEN;
  const gone = lead.gone ? `lead ${lead.member_id} gone (${lead.gone.how}) ${time(lead.gone.at)}` : `lead ${lead.member_id}${lead.session_id ? ` (session ${lead.session_id})` : ''} not gone`;
  const of = <K extends TimelineEntry['kind']>(kind: K) => timeline.entries.filter((e): e is Entry<K> => e.kind === kind);
  const members = of('member');
  const tasks = of('task');
  const threads = of('thread');
  return [
    `team ${team.team_id} "${team.name}": created ${time(team.created_at)}, ${end}; ${formatDuration(team.duration_ms)} ${span}, ${timeline.counts.events} events`,
    gone,
    section('members', members.length ? members.map((m) => memberLine(m, open)).join('\n') : 'none'),
    section('tasks', tasks.length ? tasks.flatMap((t) => taskLines(t, open)).join('\n') : 'none'),
    section('messages', threads.length ? threads.flatMap(threadLines).join('\n') : 'none'),
    ...(timeline.cut ? [`(cut after ${timeline.entries.length} entries; --json with the API's cursor reads the rest)`] : []),
  ].join('\n');
}
