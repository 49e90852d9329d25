import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { ok, withBmo } from '../http/support.js';

// Seed 000 through HTTP: the goal and git context kept in the events and shown, preflight flags
// for another commit and a moved branch, recipe steps counted, a compact handoff that says what it
// leaves out, and evidence gating `completed`.

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const git = (commit: string, branch: string | null = 'main', dirty = false) => ({ root: '/src/repo', branch, commit, dirty });
const run = (overrides: Record<string, unknown> = {}) => ({
  argv: ['npm', 'test'],
  cwd: '/src/repo',
  exit_code: 0,
  signal: null,
  duration_ms: 12,
  output_tail: 'ok\n',
  truncated: false,
  timed_out: false,
  ...overrides,
});
const check = (status: any, name: string) => status.preflight.checks.find((c: { check: string }) => c.check === name);

test('the goal and the git context are kept in the events and shown by status, show and the handoff', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'docs/x', goal: 'Cover every chapter with a figure', git: git(A, 'main', true) });
    const events = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/events')).json.events;
    assert.equal(events[0].data.goal, 'Cover every chapter with a figure');
    assert.equal(events[0].data.git, git(A, 'main', true));
    const status = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/status')).json;
    assert.equal([status.goal, status.git.branch, status.git.dirty], ['Cover every chapter with a figure', 'main', true]);
    assert.is((await ok(bmo, 200, 'GET', '/v1/workstreams/w')).json.goal, 'Cover every chapter with a figure');
    const md = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/handoff?format=md')).body;
    assert.match(md, /- goal: Cover every chapter with a figure/);
    assert.match(md, /- git: main at aaaaaaaaaaaa \(uncommitted changes\) in \/src\/repo/);
    assert.match(status.drill_in.show.verb, /^bmo workstream show w$/);
    // Without git context: none is made up.
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'plain', label: 'no repo' });
    assert.is((await ok(bmo, 200, 'GET', '/v1/workstreams/plain/status')).json.git, null);
    assert.match((await ok(bmo, 200, 'GET', '/v1/workstreams/plain/handoff?format=md')).body, /- git: no git context recorded/);
    await ok(bmo, 400, 'POST', '/v1/workstreams', { id: 'bad', label: 'x', git: { root: '/r', branch: 'main', commit: 'not-a-hash', dirty: false } });
  }));

test('preflight flags a verify run on another commit than the latest one, and a branch that moved since the plan was bound', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'x', git: git(A) });
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/plan', { path: 'plan.md', kind: 'custom', git: git(A) });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/verify-runs', run({ git: git(A) }));
    let status = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/status')).json;
    assert.equal([check(status, 'verified_on_current_commit').ok, check(status, 'branch_unchanged_since_plan').ok], [true, true]);

    // A nanite on a later commit of another branch: the verification is stale, the branch moved.
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/nanites', { session_id: 's', prompt: 'p', executor: ['x'], git: git(B, 'feature') });
    status = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/status')).json;
    assert.is(check(status, 'verified_on_current_commit').ok, false);
    assert.match(check(status, 'verified_on_current_commit').detail, /was on aaaaaaaaaaaa, the latest commit seen is bbbbbbbbbbbb/);
    assert.is(check(status, 'branch_unchanged_since_plan').ok, false);
    assert.match(check(status, 'branch_unchanged_since_plan').detail, /bound on main, the work is now on feature/);
    assert.is(status.preflight.ready, false);
  }));

test('recipe steps are stored in order, runs record their step, and verified_since_plan counts the steps that passed', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'x' });
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/plan', { path: 'plan.md', kind: 'recipe' });
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/recipe', { step: 'build', argv: ['npm', 'run', 'build'] });
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/recipe', { step: 'test', argv: ['npm', 'test'] });
    await ok(bmo, 409, 'POST', '/v1/workstreams/w/recipe', { step: 'test', argv: ['npm', 'test'] });
    await ok(bmo, 400, 'POST', '/v1/workstreams/w/recipe', { step: 'Bad Step', argv: ['x'] });
    assert.equal((await ok(bmo, 200, 'GET', '/v1/workstreams/w/recipe')).json.steps, [
      { step: 'build', argv: ['npm', 'run', 'build'] },
      { step: 'test', argv: ['npm', 'test'] },
    ]);
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/verify-runs', run({ step: 'build', argv: ['npm', 'run', 'build'] }));
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/verify-runs', run({ step: 'test', exit_code: 1 }));
    let status = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/status')).json;
    assert.is(check(status, 'verified_since_plan').ok, false);
    assert.match(check(status, 'verified_since_plan').detail, /1 of 2 recipe step\(s\) passed since the plan was bound; run bmo workstream verify w test/);
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/verify-runs', run({ step: 'test' }));
    status = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/status')).json;
    assert.equal([check(status, 'verified_since_plan').ok, check(status, 'verified_since_plan').detail], [true, '2 of 2 recipe step(s) passed since the plan was bound']);
    assert.equal(status.bindings.recipe, ['build', 'test']);
  }));

test('a handoff of 40 long findings and 61 runs stays under 16 KB, says showing N of M, ranks findings, lists critical ones under Next; full=true gives all', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'big' });
    const severities = ['info', 'low', 'medium', 'high', 'critical'];
    for (let i = 0; i < 40; i++) {
      await ok(bmo, 201, 'POST', '/v1/workstreams/w/findings', { finding_id: `f${i}`, severity: severities[i % 5], path: `src/f${i}.ts`, text: `finding ${i} `.repeat(600) });
    }
    const output = Array.from({ length: 2000 }, (_, i) => `line ${i} of the build output`).join('\n') + '\n';
    for (let i = 0; i < 61; i++) await ok(bmo, 201, 'POST', '/v1/workstreams/w/verify-runs', run({ run_id: `r${i}`, exit_code: i === 60 ? 2 : 0, output_tail: output.slice(0, 60_000) }));

    const md = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/handoff?format=md')).body;
    assert.ok(Buffer.byteLength(md) <= 16 * 1024, `${Buffer.byteLength(md)} bytes`);
    assert.match(md, /## Verification \(showing 10 of 61\)/);
    assert.match(md, /## Findings \(showing 15 of 40\)/);
    const next = md.slice(md.indexOf('## Next'), md.indexOf('## Verification'));
    assert.equal([...next.matchAll(/critical finding (f\d+)/g)].map((m) => m[1]), ['f39', 'f34', 'f29', 'f24', 'f19', 'f14', 'f9', 'f4']);
    assert.match(md, /bmo workstream handoff w --full/);

    const json = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/handoff')).json;
    assert.equal([json.findings.shown, json.findings.total], [15, 40]);
    assert.equal(json.findings.rows.slice(0, 9).map((f: { severity: string }) => f.severity), [...Array(8).fill('critical'), 'high']);
    assert.equal(json.findings.rows.slice(0, 2).map((f: { finding_id: string }) => f.finding_id), ['f39', 'f34'], 'the most recent first within a severity');
    const excerpt: string = json.verification.rows.at(-1).output_excerpt;
    assert.ok(excerpt.length <= 1200);
    assert.match(excerpt, /^line \d+ of the build output\n/, 'the clipped tail starts at a line');

    const full = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/handoff?full=true')).json;
    assert.equal([full.verification.rows.length, full.findings.rows.length, full.findings.rows[0].text.length], [61, 40, 'finding 39 '.length * 600]);
    const fullMd = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/handoff?format=md&full=true')).body;
    assert.match(fullMd, /## Verification \(61\)/);
    assert.ok(Buffer.byteLength(fullMd) > 16 * 1024);
  }));

test('completed over a preflight that is not ready is refused with the todo list and writes nothing; --force needs a reason, recorded with the checks it went over', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'x' });
    const refused = (await ok(bmo, 409, 'POST', '/v1/workstreams/w/status', { status: 'completed' })).json;
    assert.is(refused.field, 'status');
    assert.match(refused.message, /not ready to be completed \(plan_bound: no plan bound.*--force --reason/);
    assert.ok(refused.details.todo.some((c: { check: string }) => c.check === 'boundary_declared'));
    assert.is((await ok(bmo, 200, 'GET', '/v1/workstreams/w/events')).json.events.length, 1, 'nothing written');
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/status', { status: 'partial' });
    const noReason = (await ok(bmo, 400, 'POST', '/v1/workstreams/w/status', { status: 'completed', force: true })).json;
    assert.is(noReason.field, 'reason');
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/status', { status: 'completed', force: true, reason: 'shipped by hand' });
    const last = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/events')).json.events.at(-1);
    assert.is(last.data.reason, 'shipped by hand');
    assert.ok(last.data.forced_over.includes('plan_bound'));
  }));

test('a team boundary names a team that exists, else 404 naming team_id', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'x' });
    const missing = (await ok(bmo, 404, 'POST', '/v1/workstreams/w/boundary', { boundary: 'team', team_id: 'nobody' })).json;
    assert.is(missing.field, 'team_id');
    await ok(bmo, 201, 'POST', '/v1/teams', { id: 'docs', name: 'Docs', lead: { name: 'L' } });
    await ok(bmo, 200, 'POST', '/v1/workstreams/w/boundary', { boundary: 'team', team_id: 'docs' });
  }));

test('a running nanite whose lane process is gone is closed as partial (lost) by the next bmo that opens the data directory; a live one is left running', async () => {
  const tmp = tempDir('bmo-lost-lane-');
  const gone = spawnSync(process.execPath, ['-e', '0']).pid; // ran and exited: no process has this pid now
  try {
    let bmo = await startTestBmo(tmp.dir);
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w', label: 'x' });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/nanites', { nanite_id: 'lost', session_id: 's', prompt: 'p', executor: ['x'], runner: { pid: gone, host: hostname() } });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/nanites', { nanite_id: 'alive', session_id: 's', prompt: 'p', executor: ['x'], runner: { pid: process.pid, host: hostname() } });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w/nanites', { nanite_id: 'elsewhere', session_id: 's', prompt: 'p', executor: ['x'], runner: { pid: gone, host: 'another-host' } });
    await bmo.close();
    bmo = await startTestBmo(tmp.dir);
    try {
      const lost = (await ok(bmo, 200, 'GET', '/v1/workstreams/w/nanites/lost')).json;
      assert.is(lost.state, 'partial');
      assert.match(lost.handoff, new RegExp(`lost: the process that ran this lane \\(pid ${gone} on `));
      assert.is((await ok(bmo, 200, 'GET', '/v1/workstreams/w/nanites/alive')).json.state, 'running');
      assert.is((await ok(bmo, 200, 'GET', '/v1/workstreams/w/nanites/elsewhere')).json.state, 'running', 'a lane on another host is not judged here');
    } finally {
      await bmo.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test.run();
