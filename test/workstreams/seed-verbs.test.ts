import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serveHere } from '../helpers/bmo.js';
import { until } from '../helpers/wait.js';
import { getJson, gitRepo, node, runCli, verifyRuns, withDirs, writeNaniteConfig } from './support.js';

// Seed 000's CLI verbs: a detached lane followed from another terminal and swept when killed, and
// the words a CLI user sees (one line from create, --team, the required note, the done gate).

test('nanite run --detach answers the id at once; status, wait and logs follow the lane; a lane whose process is killed is closed as partial by the sweep', () =>
  withDirs(async ({ root, dataDir, cwd }) => {
    const server = await serveHere(dataDir);
    const env = { XDG_STATE_HOME: join(root, 'state'), BMO_SESSION_ID: 'parent' };
    try {
      assert.is((await runCli(cwd, server.url, ['workstream', 'create', '--label', 'x', '--id', 'w'], env)).code, 0);
      writeNaniteConfig(cwd);
      const quick = await runCli(cwd, server.url, ['nanite', 'run', '--detach', 'summarize the gaps'], env);
      assert.is(quick.code, 0, quick.stderr);
      const id = quick.stdout.trim();
      assert.match(id, /^[a-z0-9-]+$/);
      const waited = await runCli(cwd, server.url, ['nanite', 'wait', 'w', id], env);
      assert.is(waited.code, 0, waited.stderr);
      assert.match(waited.stdout, /completed \(exit 0\)/);
      const logs = await runCli(cwd, server.url, ['nanite', 'logs', 'w', id], env);
      assert.match(logs.stdout, /residual gaps: none found by the fixture/);

      writeNaniteConfig(cwd, ['--sleep', '60000']);
      const slow = await runCli(cwd, server.url, ['nanite', 'run', '--detach', 'take your time'], env);
      assert.is(slow.code, 0, slow.stderr);
      const lost = slow.stdout.trim();
      const running = await getJson(server.url, `/v1/workstreams/w/nanites/${lost}`);
      assert.is(running.state, 'running');
      const status = await runCli(cwd, server.url, ['nanite', 'status', 'w', lost], env);
      assert.match(status.stdout, new RegExp(`${lost}\\s+running\\s+${running.runner.pid}@`));
      process.kill(-running.runner.pid, 'SIGKILL'); // the lane's whole process group, as a crash would
      await until(async () => (await getJson(server.url, `/v1/workstreams/w/nanites/${lost}`)).state !== 'running', 'the sweep to close the lane', 15_000);
      const closed = await getJson(server.url, `/v1/workstreams/w/nanites/${lost}`);
      assert.is(closed.state, 'partial');
      assert.match(closed.handoff, /lost: the process that ran this lane \(pid \d+/);
      const after = await runCli(cwd, server.url, ['nanite', 'wait', 'w', lost], env);
      assert.is(after.code, 1);
    } finally {
      await server.stop();
    }
  }));

test('CLI words: create prints one line (--quiet the bare id), boundary team without --team names --team, marker add --help says the note is required, set-status completed is gated, --max-output over the ceiling is refused', () =>
  withDirs(async ({ root, dataDir, cwd }) => {
    const head = gitRepo(cwd);
    const server = await serveHere(dataDir);
    const env = { XDG_STATE_HOME: join(root, 'state') };
    try {
      const created = await runCli(cwd, server.url, ['workstream', 'create', '--label', 'docs', '--id', 'w', '--goal', 'every chapter has a figure'], env);
      assert.is(created.code, 0, created.stderr);
      assert.equal(created.stdout.trim().split('\n'), [`created workstream w "docs" on main at ${head.slice(0, 12)}`]);
      const quiet = await runCli(cwd, server.url, ['workstream', 'create', '--label', 'other', '--quiet'], env);
      assert.match(quiet.stdout, /^[a-z0-9-]+\n$/);

      const status = await runCli(cwd, server.url, ['workstream', 'status', 'w'], env);
      assert.match(status.stdout, /goal: +every chapter has a figure/);
      assert.match(status.stdout, new RegExp(`git: +main at ${head.slice(0, 12)} in `));
      assert.match(status.stdout, /show +bmo workstream show w/);
      assert.not.match(status.stdout, /\/v1\//, 'verbs, not routes');

      const plan = await runCli(cwd, server.url, ['workstream', 'set-plan', 'w', '--path', 'docs/missing-plan.md'], env);
      assert.is(plan.code, 0, plan.stderr);
      assert.match(plan.stderr, /warning: docs\/missing-plan.md does not exist here \(bound anyway\)/);

      const boundary = await runCli(cwd, server.url, ['workstream', 'boundary', 'w', 'team'], env);
      assert.is(boundary.code, 2);
      assert.match(boundary.stderr, /--team <team-id>/);
      assert.not.match(boundary.stderr, /team_id/);
      const noTeam = await runCli(cwd, server.url, ['workstream', 'boundary', 'w', 'team', '--team', 'ghosts'], env);
      assert.is(noTeam.code, 3);
      assert.match(noTeam.stderr, /no team ghosts; bmo team list lists them/);

      const help = await runCli(cwd, server.url, ['workstream', 'marker', 'add', '--help'], env);
      assert.match(help.stdout, /--note <note> +what to know about it \(required\)/);

      const gated = await runCli(cwd, server.url, ['workstream', 'set-status', 'w', 'completed'], env);
      assert.is(gated.code, 4);
      assert.match(gated.stderr, /not ready to be completed \(.*boundary_declared.*\); finish these, or force it with --force --reason/);
      const noReason = await runCli(cwd, server.url, ['workstream', 'set-status', 'w', 'completed', '--force'], env);
      assert.is(noReason.code, 2);
      const forced = await runCli(cwd, server.url, ['workstream', 'set-status', 'w', 'completed', '--force', '--reason', 'shipped by hand'], env);
      assert.is(forced.code, 0, forced.stderr);

      const over = await runCli(cwd, server.url, ['workstream', 'verify-run', '--max-output', '100000', 'w', ...node('0')], env);
      assert.is(over.code, 2);
      assert.match(over.stderr, /--max-output must be a whole number from 1 to 65536/);

      const unknown = await runCli(cwd, server.url, ['workstream', 'status', 'nope'], env);
      assert.match(unknown.stderr, /no workstream nope; bmo workstream list lists them/);

      const first = await runCli(cwd, server.url, ['workstream', 'verify-run', 'w', ...node('process.exit(7)')], env);
      assert.is(first.code, 7);
      const again = await runCli(cwd, server.url, ['workstream', 'verify-run', 'w', '--again'], env);
      assert.is(again.code, 7, again.stderr);
      assert.match(again.stderr, /again: .*process.exit\(7\)/);
      assert.equal(verifyRuns(dataDir, 'w').map((r) => r.data.argv.at(-1)), ['process.exit(7)', 'process.exit(7)']);
      const handoff = await runCli(cwd, server.url, ['workstream', 'handoff', 'w', '--full'], env);
      assert.match(handoff.stdout, /## Verification \(2\)/);
      assert.match(handoff.stdout, /fix and re-run: bmo workstream verify-run w --again/);
      assert.not.match(handoff.stdout, /verify-run w -- /);
    } finally {
      await server.stop();
    }
  }));

test.run();
