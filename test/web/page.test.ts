import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import type { Bmo } from '../../src/app.js';
import { TestClock } from '../../src/clock.js';
import { closedPort, runBmoCli, spawnServer, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { artifactPath, errorsOf, launchChromium, type Browser } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// The operator page in a real headless Chromium against a real bmo on a port: the token, live
// updates over /v1/stream with no reload, the board, the chip, the tail across a server restart,
// untrusted text shown as text, and screenshots of the teams view and of one team.

// Evaluated in the page, where these are the browser's own.
declare const window: any, document: any, sessionStorage: any;

let browser: Browser;
let bmo: Bmo;
let dataDir: { dir: string; cleanup: () => void };

test.before(async () => {
  browser = await launchChromium();
  dataDir = tempDir('bmo-page-');
  bmo = await startTestBmo(dataDir.dir, { listen: true });
});

test.after(async () => {
  await browser?.close();
  await bmo?.close().catch(() => {});
  dataDir?.cleanup();
});

async function post(url: string, path: string, body: unknown, status = 201): Promise<any> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json();
  assert.is(response.status, status, `POST ${path} → ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** A page signed in with the token through the form, as a person does. */
async function signedIn(url: string, options: { width?: number; dark?: boolean; hash?: string } = {}): Promise<Page> {
  const page = await browser.newPage(options);
  await page.goto(`${url}/${options.hash ?? ''}`);
  await page.fill('#token', TOKEN);
  await page.press('#token', 'Enter');
  await page.waitForSelector('.link-state.live');
  return page;
}

/** Marks the document: a reload would lose the mark. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
}

async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
}

test('the page loads with a token, keeps it in sessionStorage and never in the URL', async () => {
  const page = await browser.newPage();
  await page.goto(`${bmo.url}/`);
  await page.waitForSelector('#token');
  assert.is(await page.getAttribute('#token', 'type'), 'password');
  await page.fill('#token', 'not-the-token-at-all');
  await page.press('#token', 'Enter');
  await page.waitForSelector('.token-form .error');
  assert.match(await page.textContent('.token-form .error') ?? '', 'token');

  await page.fill('#token', TOKEN);
  await page.press('#token', 'Enter');
  await page.waitForSelector('.link-state.live');
  await page.waitForSelector('main h2:text("Teams")');
  assert.is(await page.evaluate(() => sessionStorage.getItem('bmo.token')), TOKEN);
  assert.not.match(page.url(), TOKEN);
  assert.is(await page.textContent('#chip'), 'idle');

  // A link carrying the token in its fragment: kept, and gone from the address bar at once.
  const linked = await browser.newPage();
  await linked.goto(`${bmo.url}/#token=${TOKEN}`);
  await linked.waitForSelector('.link-state.live');
  assert.not.match(linked.url(), TOKEN);
  assert.is(await linked.evaluate(() => sessionStorage.getItem('bmo.token')), TOKEN);
  assert.equal(errorsOf(page), []);
  await page.close();
  await linked.close();
});

test('a team created over HTTP appears without a reload', async () => {
  const page = await signedIn(bmo.url!);
  await page.waitForSelector('main h2:text("Teams")');
  await markDocument(page);
  await post(bmo.url!, '/v1/sessions', { session_id: 'ann-laptop', agent: 'test' });
  await post(bmo.url!, '/v1/teams', { id: 'docs', name: 'Docs sweep', goal: 'Cover every chapter', lead: { member_id: 'ann', name: 'Ann', session_id: 'ann-laptop' } });
  await page.waitForSelector('tr[data-team="docs"]');
  const row = await page.textContent('tr[data-team="docs"]');
  assert.match(row ?? '', 'Docs sweep');
  assert.match(row ?? '', 'alive', 'the lead session is alive');
  assert.ok(await stillSameDocument(page), 'no reload');
  assert.equal(errorsOf(page), []);
  await page.close();
});

test('a claim moves the task on the board, with its owner and lease countdown', async () => {
  await post(bmo.url!, '/v1/teams/docs/members', { member_id: 'bob', name: 'Bob' });
  await post(bmo.url!, '/v1/teams/docs/tasks', { task_id: 'outline', title: 'Outline the chapters' });
  await post(bmo.url!, '/v1/teams/docs/tasks', { task_id: 'draft', title: 'Draft chapter 1', blocked_by: ['outline'] });
  const page = await signedIn(bmo.url!, { hash: '#/teams/docs' });
  await page.waitForSelector('[data-column="ready"] [data-task="outline"]');
  await page.waitForSelector('[data-column="blocked"] [data-task="draft"]');
  await markDocument(page);

  await post(bmo.url!, '/v1/teams/docs/tasks/outline/claim', { member_id: 'bob', lease_ms: 300_000 }, 200);
  await page.waitForSelector('[data-column="claimed"] [data-task="outline"]');
  assert.is(await page.$('[data-column="ready"] [data-task="outline"]'), null, 'it left the ready column');
  const card = (await page.textContent('[data-task="outline"]')) ?? '';
  assert.match(card, 'owner bob');
  assert.match(card, /lease \d+m \d+s left/);
  // Members with liveness: ann's session is alive and she holds nothing; bob never registered a session.
  const members = await page.$$eval('section[aria-labelledby="members-h"] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
  assert.equal(members.map((m) => /working|idle|stalled|gone|unregistered/.exec(m)?.[0]), ['idle', 'unregistered']);
  // The log got the claim too, with its pos and seq, newest first.
  assert.match((await page.textContent('.log tbody tr:first-child')) ?? '', 'task_claimed');

  // A blocked_by edge is a link that moves the focus to the task it waits on, by keyboard.
  await page.focus('[data-task="draft"] .edges a');
  await page.keyboard.press('Enter');
  assert.is(await page.evaluate(() => document.activeElement?.getAttribute('data-task')), 'outline');
  assert.ok(await stillSameDocument(page));
  assert.equal(errorsOf(page), []);
  await page.close();
});

test('a goal, a name and a message holding <img src=x onerror=…> show as text', async () => {
  const evil = '<img src=x onerror="window.__pwned=1">';
  await post(bmo.url!, '/v1/teams', { id: 'evil', name: `Evil ${evil}`, goal: `Goal ${evil}`, lead: { member_id: 'lead', name: 'Lead' } });
  await post(bmo.url!, '/v1/teams/evil/members', { member_id: 'mal', name: evil });
  await post(bmo.url!, '/v1/teams/evil/messages', { from: 'mal', to: '*', body: `hi ${evil}` });
  const page = await signedIn(bmo.url!, { hash: '#/teams/evil' });
  await page.waitForSelector('.goal');
  await page.waitForSelector('.message .body');
  assert.match((await page.textContent('.goal')) ?? '', evil);
  assert.match((await page.textContent('.message .body')) ?? '', evil);
  assert.match((await page.textContent('main h2')) ?? '', evil);
  await page.goto(`${bmo.url}/#/teams`);
  await page.waitForSelector('tr[data-team="evil"]');
  assert.is(await page.evaluate(() => document.querySelectorAll('main img').length), 0, 'no element was made from the text');
  assert.is(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await page.close();
});

test('workstreams: the list, a detail with a pass/fail timeline, and the handoff rendered from its markdown', async () => {
  await post(bmo.url!, '/v1/workstreams', { id: 'book', label: 'docs/book-visual-coverage' });
  await post(bmo.url!, '/v1/workstreams/book/plan', { path: 'docs/plans/book.md', kind: 'custom' }, 200);
  for (const exit_code of [1, 0, 0]) await post(bmo.url!, '/v1/workstreams/book/verify-runs', { argv: ['pnpm', 'build'], cwd: '/w', exit_code, signal: null, duration_ms: 1200, output_tail: exit_code ? 'error TS2345 <b>bold</b>' : 'ok', truncated: false });
  await post(bmo.url!, '/v1/workstreams/book/findings', { severity: 'high', path: 'docs/ch1.md', text: 'figure 3 is missing <script>alert(1)</script>' });
  const page = await signedIn(bmo.url!, { hash: '#/workstreams' });
  await page.waitForSelector('tr[data-workstream="book"]');
  await page.click('tr[data-workstream="book"] a');
  await page.waitForSelector('.timeline li');
  assert.equal(await page.$$eval('.timeline li', (items) => items.map((li) => li.className)), ['fail', 'pass', 'pass']);
  await page.waitForSelector('.handoff h3');
  assert.match((await page.textContent('.handoff h3')) ?? '', 'Handoff: docs/book-visual-coverage');
  assert.match((await page.textContent('.findings')) ?? '', '<script>alert(1)</script>');
  assert.is(await page.evaluate(() => document.querySelectorAll('main script, main b').length), 0);
  await markDocument(page);
  await post(bmo.url!, '/v1/workstreams/book/verify-runs', { argv: ['pnpm', 'build'], cwd: '/w', exit_code: 2, signal: null, duration_ms: 900, output_tail: 'boom', truncated: false });
  await page.waitForFunction(() => document.querySelectorAll('.timeline li').length === 4);
  // The last run in words, not on hover only.
  assert.match((await page.textContent('.last-run')) ?? '', /^Last run: failed, pnpm build → exit 2 in/);
  await page.screenshot({ path: artifactPath('workstream-1280.png'), fullPage: true });
  assert.ok(await stillSameDocument(page));
  assert.equal(errorsOf(page), []);
  await page.close();
});

test('keyboard: the views are reached by Tab and Enter', async () => {
  const page = await signedIn(bmo.url!);
  await page.waitForSelector('main h2:text("Teams")');
  await page.focus('body');
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('data-nav') === 'tail');
  }
  assert.ok(reached, 'Tab reaches the tail link');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#tail');
  assert.is(await page.getAttribute('[data-nav="tail"]', 'aria-current'), 'page');
  await page.close();
});

test("a team's timeline: a swimlane per member, each claim a bar from claim to its end, joins and leaves, messages as marks, live", async () => {
  const tmp = tempDir('bmo-page-timeline-');
  const clock = new TestClock('2026-01-01T10:00:00.000Z');
  const t = await startTestBmo(tmp.dir, { listen: true, clock });
  // The scenario, second by second from the team's creation; the clock moves between the steps.
  const at = async (second: number, path: string, body: unknown, status = 201) => {
    await clock.advance(Date.parse(`2026-01-01T10:00:00.000Z`) + second * 1000 - clock.now().getTime());
    return post(t.url!, path, body, status);
  };
  try {
    await at(0, '/v1/sessions', { session_id: 'ann-laptop', agent: 'test', lease_ms: 3_600_000 });
    await at(0, '/v1/teams', { id: 'docs', name: 'Docs sweep', lead: { member_id: 'ann', name: 'Ann', session_id: 'ann-laptop' } });
    await at(10, '/v1/teams/docs/members', { member_id: 'bob', name: 'Bob' });
    await at(15, '/v1/teams/docs/members', { member_id: 'cy', name: 'Cy' });
    for (const [task, title] of [['outline', 'Outline'], ['draft', 'Draft'], ['review', 'Review'], ['index', 'Index']]) await at(20, '/v1/teams/docs/tasks', { task_id: task, title });
    const outline = await at(30, '/v1/teams/docs/tasks/outline/claim', { member_id: 'bob', lease_ms: 300_000 }, 200);
    await at(100, '/v1/teams/docs/tasks/outline/complete', { member_id: 'bob', fencing_token: outline.fencing_token }, 200);
    const draft = await at(110, '/v1/teams/docs/tasks/draft/claim', { member_id: 'cy', lease_ms: 300_000 }, 200);
    await at(120, '/v1/teams/docs/messages', { from: 'bob', to: 'ann', body: 'outline done' });
    await at(130, '/v1/teams/docs/messages', { from: 'ann', to: 'bob', body: 'thanks' });
    await at(140, '/v1/teams/docs/messages', { from: 'ann', to: '*', body: 'draft next' });
    await at(200, '/v1/teams/docs/tasks/draft/fail', { member_id: 'cy', fencing_token: draft.fencing_token, error: 'no access' }, 200);
    const review = await at(210, '/v1/teams/docs/tasks/review/claim', { member_id: 'bob', lease_ms: 300_000 }, 200);
    await at(250, '/v1/teams/docs/messages', { from: 'cy', to: 'ann', body: 'taking the index' });
    await at(260, '/v1/teams/docs/tasks/index/claim', { member_id: 'cy', lease_ms: 60_000 }, 200);
    await clock.advance(40_000);
    const left = await fetch(`${t.url}/v1/teams/docs/members/cy`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.is(left.status, 200, 'cy leaves at 300 s, and with her the claim she held');
    await at(400, '/v1/teams/docs/tasks/review/complete', { member_id: 'bob', fencing_token: review.fencing_token }, 200);
    await at(420, '/v1/teams/docs/tasks/index/claim', { member_id: 'ann', lease_ms: 300_000 }, 200);

    const page = await signedIn(t.url!, { hash: '#/teams/docs' });
    await page.click('a[href="#/teams/docs/timeline"]');
    await page.waitForSelector('.swim-lane[data-member="cy"] rect.claim');
    await markDocument(page);
    assert.equal(await page.$$eval('.swim-lane', (lanes) => lanes.map((l) => l.getAttribute('data-member'))), ['ann', 'bob', 'cy']);
    const claims = (member: string) => page.$$eval(`.swim-lane[data-member="${member}"] rect.claim`, (rects) => rects.map((r) => r.getAttribute('class')));
    assert.equal(await claims('ann'), ['claim c-held']);
    assert.equal(await claims('bob'), ['claim c-completed', 'claim c-completed']);
    assert.equal(await claims('cy'), ['claim c-failed', 'claim c-reclaimed']);
    // x runs from the team's creation (0 s) to its last event (420 s) over 1000 units: outline was held from 30 s to 100 s.
    const bar = await page.$eval('.swim-lane[data-member="bob"] rect.claim', (r) => ({ x: Number(r.getAttribute('x')), width: Number(r.getAttribute('width')), title: r.textContent }));
    assert.ok(Math.abs(bar.x - (30 / 420) * 1000) < 0.01 && Math.abs(bar.width - (70 / 420) * 1000) < 0.01, JSON.stringify(bar));
    assert.match(bar.title ?? '', 'Outline (outline): claimed 2026-01-01 10:00:30Z');
    assert.match(bar.title ?? '', 'completed 2026-01-01 10:01:40Z');
    const sent = (member: string) => page.$$eval(`.swim-lane[data-member="${member}"] rect.sent`, (rects) => rects.length);
    assert.equal([await sent('ann'), await sent('bob'), await sent('cy')], [2, 1, 1]);
    assert.is(await page.$$eval('.swim-lane[data-member="cy"] rect.left', (rects) => rects.length), 1, 'cy left');
    assert.match((await page.getAttribute('.swim-lane[data-member="cy"] svg', 'aria-label')) ?? '', '2 claim(s) (1 failed, 1 reclaimed); 1 message(s) sent');
    await page.screenshot({ path: artifactPath('timeline-1280.png'), fullPage: true });
    await page.screenshot({ path: artifactPath('readme-timeline.png'), clip: { x: 0, y: 0, width: 1280, height: 420 } });

    // A new event redraws the lanes, no reload.
    await at(430, '/v1/teams/docs/messages', { from: 'bob', to: 'ann', body: 'draft done' });
    await page.waitForFunction(() => document.querySelectorAll('.swim-lane[data-member="bob"] rect.sent').length === 2);
    assert.ok(await stillSameDocument(page));
    await page.setViewportSize({ width: 390, height: 800 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the timeline fits 390 px');
    assert.equal(errorsOf(page), []);
    await page.close();
  } finally {
    await t.close().catch(() => {});
    tmp.cleanup();
  }
});

test('screenshots: the teams view and one team at 1280 px and at 390 px, light and dark, none wider than the window', async () => {
  for (const [width, dark] of [[1280, false], [390, false], [1280, true], [390, true]] as const) {
    const suffix = `${width}${dark ? '-dark' : ''}`;
    const page = await signedIn(bmo.url!, { width, dark, hash: '#/teams' });
    await page.waitForSelector('tr[data-team="docs"]');
    await page.screenshot({ path: artifactPath(`teams-${suffix}.png`), fullPage: true });
    // The README's pictures (docs/page-*.png are copies of these): the top of each view, light.
    if (width === 1280 && !dark) await page.screenshot({ path: artifactPath('readme-teams.png'), clip: { x: 0, y: 0, width: 1280, height: 340 } });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `the teams view fits ${width} px`);
    await page.goto(`${bmo.url}/#/teams/docs`);
    await page.waitForSelector('[data-column="claimed"] [data-task="outline"]');
    await page.waitForSelector('.log tbody tr');
    await page.screenshot({ path: artifactPath(`team-${suffix}.png`), fullPage: true });
    if (width === 1280 && !dark) await page.screenshot({ path: artifactPath('readme-team.png'), clip: { x: 0, y: 0, width: 1280, height: 640 } });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `the team view fits ${width} px`);
    assert.equal(errorsOf(page), []);
    await page.close();
  }
});

test('an observer credential is enough to watch; what it may not do, the page says', async () => {
  const observer = (await post(bmo.url!, '/v1/credentials', { name: 'wall screen', role: 'observer' })).token as string;
  const page = await browser.newPage();
  await page.goto(`${bmo.url}/`);
  await page.fill('#token', observer);
  await page.press('#token', 'Enter');
  await page.waitForSelector('.link-state.live');
  await page.waitForSelector('tr[data-team="docs"]');
  await markDocument(page);
  await post(bmo.url!, '/v1/teams/docs/tasks', { task_id: 'index', title: 'Build the index' });
  await page.goto(`${bmo.url}/#/teams/docs`);
  await page.waitForSelector('[data-column="ready"] [data-task="index"]');
  assert.ok(await stillSameDocument(page), 'hash navigation, no reload');
  assert.equal(errorsOf(page), []);
  await page.close();
});

test('the chip reads degraded after three remote failures, and an admin resets it', async () => {
  const tmp = tempDir('bmo-page-remote-');
  const port = await closedPort();
  const a = await startTestBmo(tmp.dir, { listen: true, overrides: { options: { teams: { server_url: `http://127.0.0.1:${port}`, timeout_ms: 1000 } } } });
  try {
    const page = await browser.newPage();
    await page.goto(`${a.url}/#token=${TOKEN}`);
    await page.waitForSelector('.link-state.live');
    for (let i = 0; i < 3; i++) assert.is((await fetch(`${a.url}/v1/teams`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 502);
    await page.waitForSelector('#chip.bad');
    assert.match((await page.textContent('#chip')) ?? '', /^degraded: refused/);
    assert.match((await page.textContent('#remote')) ?? '', `remote 127.0.0.1:${port}: degraded`);
    await page.click('#remote button');
    await page.waitForFunction(() => !document.getElementById('chip')?.textContent?.startsWith('degraded'));
    assert.is(a.pipeline.readModels.remote.degraded, false);
    await page.close();
  } finally {
    await a.close().catch(() => {});
    tmp.cleanup();
  }
});

test('a token forgotten takes its events with it; a revoked one sends the page back to the token form, saying so', async () => {
  const admin = await signedIn(bmo.url!, { hash: '#/tail' });
  const { credential_id: id, token } = (await post(bmo.url!, '/v1/credentials', { name: 'lobby screen', role: 'observer' })) as { credential_id: string; token: string };
  await admin.waitForSelector('#tail tbody tr[data-stream="system/credentials"]');
  await admin.click('#forget');
  await admin.fill('#token', token);
  await admin.press('#token', 'Enter');
  await admin.waitForSelector('.link-state.live');
  await admin.goto(`${bmo.url}/#/tail`);
  await admin.waitForSelector('#tail tbody tr');
  const shown = await admin.$$eval('#tail tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-pos'), tr.getAttribute('data-stream')]));
  assert.not.ok(shown.some(([, stream]) => stream === 'system/credentials'), 'the admin token\'s credential events are gone with it');
  assert.is(new Set(shown.map(([pos]) => pos)).size, shown.length, 'no event twice');
  const revoked = await fetch(`${bmo.url}/v1/credentials/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
  assert.is(revoked.status, 200, await revoked.text());
  await admin.waitForSelector('.token-form .error');
  assert.match((await admin.textContent('.token-form .error')) ?? '', 'no longer opens bmo');
  // A token of spaces is no token: said at once, no stream started.
  await admin.fill('#token', '   ');
  await admin.press('#token', 'Enter');
  assert.match((await admin.textContent('.token-form .error')) ?? '', 'That token is empty');
  await admin.close();
});

test('keyboard: the skip link moves focus to the content and stays on the view; a live update keeps focus where it was', async () => {
  const page = await signedIn(bmo.url!, { hash: '#/teams/docs' });
  await page.waitForSelector('[data-task]');
  await page.focus('a.skip');
  await page.keyboard.press('Enter');
  assert.is(await page.evaluate(() => document.activeElement?.id), 'main');
  assert.match(page.url(), /#\/teams\/docs$/, 'the route stays');
  const taskId = await page.getAttribute('[data-task]', 'data-task');
  await page.evaluate((tid: string) => {
    const card = document.getElementById(`task-${tid}`);
    card.setAttribute('tabindex', '-1');
    card.focus();
  }, taskId!);
  await post(bmo.url!, '/v1/teams/docs/messages', { from: 'ann', to: '*', body: 'a live update' });
  await page.waitForSelector('text=a live update');
  await page.waitForFunction((tid: string) => document.activeElement?.id === `task-${tid}`, taskId!);
  await page.close();
});

test('a removed team\'s page says so and links its timeline, with no empty sections under it', async () => {
  await post(bmo.url!, '/v1/teams', { id: 'gone-team', name: 'Gone', lead: { name: 'Lead' } });
  assert.is((await fetch(`${bmo.url}/v1/teams/gone-team`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  const page = await signedIn(bmo.url!, { hash: '#/teams/gone-team' });
  await page.waitForSelector('main .error a[href="#/teams/gone-team/timeline"]');
  assert.match((await page.textContent('main .error')) ?? '', 'was removed');
  assert.not.ok(await page.isVisible('#members-h'), 'no empty Members section');
  await page.close();
});

test('after a server restart the tail resumes with no duplicate and no missing row', async () => {
  const tmp = tempDir('bmo-page-restart-');
  const port = await closedPort();
  let server = await spawnServer(tmp.dir, {}, port);
  try {
    for (const id of ['w1', 'w2', 'w3']) await post(server.url, '/v1/workstreams', { id, label: `before ${id}` });
    const page = await signedIn(server.url, { hash: '#/tail' });
    const rows = () => page.$$eval('#tail tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-pos'))));
    await page.waitForFunction(() => document.querySelectorAll('#tail tbody tr').length === 3);

    await server.stop('SIGKILL');
    await page.waitForSelector('.link-state.disconnected');
    // Written while no server runs: the CLI opens the data directory itself.
    const offline = await runBmoCli(['workstream', 'create', '--label', 'written while down', '--id', 'w4', '--data-dir', tmp.dir], tmp.dir);
    assert.is(offline.code, 0, offline.stderr);
    server = await spawnServer(tmp.dir, {}, port);
    for (const id of ['w5', 'w6']) await post(server.url, '/v1/workstreams', { id, label: `after ${id}` });
    const head = ((await (await fetch(`${server.url}/healthz`)).json()) as { pos: number }).pos;
    await page.waitForSelector(`#tail tbody tr[data-pos="${head}"]`, { timeout: 15_000 });
    await page.waitForSelector('.link-state.live');
    const shown = await rows();
    assert.equal([...shown].sort((x, y) => x - y), Array.from({ length: head }, (_, i) => i + 1), 'every position once');
    assert.equal(shown, [...shown].sort((x, y) => y - x), 'newest first');

    // Pause holds rows back, resume shows them; the filter narrows to what matches.
    await page.click('button[aria-pressed="false"]');
    await post(server.url, '/v1/workstreams', { id: 'w7', label: 'while paused' });
    await page.waitForSelector('text=Paused: 1 new event(s) held.');
    assert.is((await rows()).length, head);
    await page.click('button[aria-pressed="true"]');
    assert.is((await rows()).length, head + 1);
    await page.fill('#tail-filter', 'workstreams/w4');
    assert.equal(await rows(), [4]);
    assert.equal(errorsOf(page), []);
    await page.close();
  } finally {
    await server.stop('SIGKILL');
    tmp.cleanup();
  }
});

test.run();
