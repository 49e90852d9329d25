import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { call, ok, withBmo } from '../helpers/bmo.js';

const N = 7;
const PAGE = 3;

const verifyRun = (n: number) => ({ argv: ['node', '-e', `process.exit(${n % 2})`], cwd: '/work', exit_code: n % 2, signal: null, duration_ms: 12, output_tail: 'ok\n', truncated: false, timed_out: false });

/** Seven of everything a collection route lists, through the routes themselves. */
async function seed(bmo: Bmo): Promise<void> {
  for (let i = 0; i < N; i++) {
    await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: `s${i}` });
    // A lead with a live session: the cleanups below remove no team.
    await ok(bmo, 201, 'POST', '/v1/teams', { id: `team-${i}`, name: `Team ${i}`, lead: { name: 'Lead', session_id: `s${i}` } });
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: `w${i}`, label: `stream ${i}` }, { 'x-session-id': 's0' });
    await ok(bmo, 201, 'POST', '/v1/credentials', { name: `observer ${i}`, role: 'observer' });
    await ok(bmo, 200, 'POST', '/v1/sessions/s0/heartbeat');
  }
  await ok(bmo, 201, 'POST', '/v1/teams/team-0/members', { member_id: 'bob', name: 'Bob' });
  for (let i = 0; i < N; i++) {
    await ok(bmo, 201, 'POST', '/v1/teams/team-0/tasks', { task_id: `t${i}`, title: `task ${i}` });
    await ok(bmo, 201, 'POST', '/v1/teams/team-0/messages', { message_id: `m${i}`, from: 'lead', to: i % 2 ? 'bob' : '*', body: `hello ${i}` });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w0/verify-runs', verifyRun(i));
    await ok(bmo, 201, 'POST', '/v1/workstreams/w0/nanites', { session_id: 's0', prompt: `look ${i}`, executor: ['agent'] });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w0/findings', { severity: 'low', path: `docs/${i}.md`, text: `finding ${i}` });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w0/artifacts', { ref: `out/${i}.html`, kind: 'report' });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w0/markers', { path: `docs/${i}.md`, note: `marker ${i}` });
    await ok(bmo, 200, 'POST', '/v1/teams/cleanup', { scope: 'all' });
  }
}

/** Every collection route and the field its items are in; each holds more than one page. */
const ROUTES: [string, string][] = [
  ['/v1/teams', 'teams'],
  ['/v1/teams?all=true', 'teams'],
  ['/v1/teams/team-0/tasks', 'tasks'],
  ['/v1/teams/team-0/tasks?status=open', 'tasks'],
  ['/v1/teams/team-0/members/bob/inbox', 'messages'],
  ['/v1/teams/team-0/timeline', 'entries'],
  ['/v1/sessions', 'sessions'],
  ['/v1/workstreams', 'workstreams'],
  ['/v1/workstreams?session=s0', 'workstreams'],
  ['/v1/workstreams/w0/verify-runs', 'verify_runs'],
  ['/v1/workstreams/w0/nanites', 'nanites'],
  ['/v1/workstreams/w0/findings', 'findings'],
  ['/v1/workstreams/w0/artifacts', 'artifacts'],
  ['/v1/workstreams/w0/markers', 'markers'],
  ['/v1/workstreams/w0/markers?open=true', 'markers'],
  ['/v1/credentials', 'credentials'],
  ['/v1/teams/team-0/events', 'events'],
  ['/v1/sessions/s0/events', 'events'],
  ['/v1/workstreams/w0/events', 'events'],
  ['/v1/workstreams/w0/events?from_seq=4', 'events'],
  ['/v1/system/cleanup/events', 'events'],
];

const withQuery = (route: string, query: string) => `${route}${route.includes('?') ? '&' : '?'}${query}`;

test('limit and cursor walk every collection route: pages of at most limit, a Link to the next, the whole list once, in order', () =>
  withBmo(async (bmo) => {
    await seed(bmo);
    for (const [route, field] of ROUTES) {
      const whole = await ok(bmo, 200, 'GET', withQuery(route, 'limit=1000'));
      const expected = JSON.stringify(whole.json[field]);
      assert.ok(whole.json[field].length > PAGE, `${route}: ${whole.json[field].length} items, more than a page`);
      assert.is(whole.json.next_cursor, null, `${route}: one page holds everything`);
      assert.is(whole.headers.link, undefined, `${route}: no Link on the last page`);

      const walked: unknown[] = [];
      let url: string | undefined = withQuery(route, `limit=${PAGE}`);
      let pages = 0;
      while (url) {
        const res = await ok(bmo, 200, 'GET', url);
        const items = res.json[field] as unknown[];
        assert.ok(items.length <= PAGE, `${url}: ${items.length} items on a page of ${PAGE}`);
        assert.ok(items.length > 0, `${url}: an empty page`);
        walked.push(...items);
        pages++;
        if (res.json.next_cursor === null) {
          assert.is(res.headers.link, undefined, `${url}: no Link on the last page`);
          url = undefined;
        } else {
          const link = /^<([^>]+)>; rel="next"$/.exec(String(res.headers.link))?.[1];
          assert.ok(link, `${url}: a Link header names the next page (${res.headers.link})`);
          assert.ok(link!.includes(`cursor=${encodeURIComponent(res.json.next_cursor)}`) || link!.includes(`cursor=${res.json.next_cursor}`), `${url}: the Link carries next_cursor`);
          url = link;
        }
        assert.ok(pages <= Math.ceil(whole.json[field].length / PAGE), `${route}: more pages than the list needs`);
      }
      assert.is(JSON.stringify(walked), expected, `${route}: the pages together are the whole list, in order`);
    }
  }));

test('a page holds at most 100 without a limit; limit above 1000 or a cursor that is not one is refused naming the field', () =>
  withBmo(async (bmo) => {
    for (let i = 0; i < 120; i++) await ok(bmo, 201, 'POST', '/v1/sessions', { session_id: `s${i}` });
    const first = await ok(bmo, 200, 'GET', '/v1/sessions');
    assert.is(first.json.sessions.length, 100);
    assert.type(first.json.next_cursor, 'string');
    const rest = await ok(bmo, 200, 'GET', `/v1/sessions?cursor=${first.json.next_cursor}`);
    assert.is(rest.json.sessions.length, 20);
    for (const [query, field] of [
      ['limit=1001', 'query.limit'],
      ['limit=0', 'query.limit'],
      ['cursor=%25%25', 'cursor'],
      ['cursor=bm90IGpzb24', 'cursor'],
    ]) {
      const refused = await call(bmo, 'GET', `/v1/sessions?${query}`);
      assert.is(refused.status, 400, query);
      assert.is(refused.json.field, field, query);
    }
    const team = await call(bmo, 'GET', '/v1/sessions/s1/events?cursor=InRlYW0i');
    assert.is(team.status, 400, 'a cursor of another list is not a log cursor');
    assert.is(team.json.field, 'cursor');
    // A well-formed cursor of another list (another route, another team) is refused, not read as this list's.
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'A', lead: { name: 'L' } });
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'beta', name: 'B', lead: { name: 'L' } });
    for (const team of ['alpha', 'beta']) for (const task of ['t1', 't2']) await ok(bmo, 201, 'POST', `/v1/teams/${team}/tasks`, { task_id: task, title: task });
    const alphaPage = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks?limit=1');
    assert.is((await call(bmo, 'GET', `/v1/teams/alpha/tasks?limit=1&cursor=${alphaPage.json.next_cursor}`)).status, 200);
    assert.is((await call(bmo, 'GET', `/v1/teams/%61lpha/tasks?limit=1&cursor=${alphaPage.json.next_cursor}`)).status, 200, 'the same list, its path %-escaped');
    for (const url of [`/v1/teams/beta/tasks?limit=1&cursor=${alphaPage.json.next_cursor}`, `/v1/teams/alpha/timeline?cursor=${alphaPage.json.next_cursor}`, `/v1/sessions?cursor=${alphaPage.json.next_cursor}`]) {
      const other = await call(bmo, 'GET', url);
      assert.equal([other.status, other.json.field], [400, 'cursor'], url);
      assert.match(other.json.message, 'a cursor of another list than', url);
    }
  }));

test('a cursor holds a key, not an offset: a task claimed between two pages of ?status=open moves no other task across them', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'Lead' } });
    for (let i = 0; i < 6; i++) await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { task_id: `t${i}`, title: `task ${i}` });
    const first = await ok(bmo, 200, 'GET', '/v1/teams/alpha/tasks?status=open&limit=3');
    await ok(bmo, 200, 'POST', '/v1/teams/alpha/tasks/t0/claim', { member_id: 'lead' });
    const second = await ok(bmo, 200, 'GET', `/v1/teams/alpha/tasks?status=open&limit=3&cursor=${first.json.next_cursor}`);
    assert.equal([...first.json.tasks, ...second.json.tasks].map((t: { task_id: string }) => t.task_id), ['t0', 't1', 't2', 't3', 't4', 't5']);
  }));

test('NDJSON is the whole log from from_seq, streamed, whatever the page size', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { name: 'Lead' } });
    for (let i = 0; i < 150; i++) await ok(bmo, 201, 'POST', '/v1/teams/alpha/tasks', { title: `task ${i}` });
    const res = await call(bmo, 'GET', '/v1/teams/alpha/events?from_seq=2', undefined, { accept: 'application/x-ndjson' });
    assert.is(res.status, 200);
    const seqs = res.body.trim().split('\n').map((line) => JSON.parse(line).seq);
    assert.equal(seqs, Array.from({ length: 151 }, (_, i) => i + 2));
  }));

test('the posture counts every team and lists the 50 that moved last', () => {
  const clock = new TestClock();
  return withBmo(async (bmo) => {
    for (let i = 0; i < 60; i++) {
      await ok(bmo, 201, 'POST', '/v1/teams', { id: `team-${i}`, name: `Team ${i}`, lead: { name: 'Lead' } });
      await clock.advance(1000);
    }
    await ok(bmo, 201, 'POST', '/v1/teams/team-0/tasks', { title: 'the oldest team moves again' });
    const posture = (await ok(bmo, 200, 'GET', '/v1/teams/posture')).json;
    assert.is(posture.team_count, 60);
    assert.is(posture.teams.length, 50);
    const listed = posture.teams.map((t: { team_id: string }) => t.team_id);
    assert.ok(listed.includes('team-0'), 'the team that moved last is listed');
    assert.ok(!listed.includes('team-1'), 'a team that has not moved since is left out');
    assert.ok(listed.includes('team-59'));
    assert.equal(listed, [...listed].sort((a: string, b: string) => Number(a.slice(5)) - Number(b.slice(5))), 'listed in creation order');
  }, { clock });
});

test.run();
