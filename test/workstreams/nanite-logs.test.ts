import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, serveHere, TOKEN } from '../helpers/bmo.js';
import { until } from '../helpers/wait.js';
import { getJson, runCli, withDirs, writeNaniteConfig } from './support.js';

// Seed 000, detached lanes: `bmo nanite logs --follow` prints a lane's output as it comes and ends
// when the lane does.

test('nanite logs --follow prints what a detached lane writes as it writes it, and ends with the lane', () =>
  withDirs(async ({ root, dataDir, cwd }) => {
    const server = await serveHere(dataDir);
    const env = { XDG_STATE_HOME: join(root, 'state'), BMO_SESSION_ID: 'parent' };
    const go = join(root, 'go');
    try {
      assert.is((await runCli(cwd, server.url, ['workstream', 'create', '--label', 'x', '--id', 'w'], env)).code, 0);
      writeNaniteConfig(cwd, ['--until', go]);
      const started = await runCli(cwd, server.url, ['nanite', 'run', '--detach', 'report in two parts'], env);
      assert.is(started.code, 0, started.stderr);
      const id = started.stdout.trim();

      // Another terminal follows it, as runCli would run it but read while it runs.
      const follower = spawn(process.execPath, [CLI, 'nanite', 'logs', 'w', id, '--follow'], {
        cwd,
        env: { ...process.env, HOME: cwd, BMO_URL: server.url, BMO_TOKEN: TOKEN, BMO_LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      follower.stdout!.on('data', (chunk) => (out += chunk));
      follower.stderr!.on('data', (chunk) => (err += chunk));
      const exited = once(follower, 'exit');
      try {
        await until(async () => out.includes('first part: waiting to be let go'), 'the first part to be followed', 20_000);
        assert.not.match(out, /residual gaps/, 'the second part is not written yet');
        assert.is(follower.exitCode, null, 'still following while the lane runs');
        assert.is((await getJson(server.url, `/v1/workstreams/w/nanites/${id}`)).state, 'running');

        writeFileSync(go, '');
        const [code] = await exited;
        assert.is(code, 0, err);
      } finally {
        if (follower.exitCode === null) follower.kill('SIGKILL');
      }
      // Each part once, in order, and the lane's own closing line (its output and bmo's go to one log).
      assert.match(out, /first part: waiting to be let go\nnanite summary for w \(parent parent\):\n.*\n- residual gaps: none found by the fixture\n/);
      assert.is(out.match(/first part/g)?.length, 1);
      assert.match(out, new RegExp(`nanite ${id} completed: exit 0 .*; handoff recorded on w\n$`));
      assert.is((await getJson(server.url, `/v1/workstreams/w/nanites/${id}`)).state, 'completed');
    } finally {
      await server.stop();
    }
  }));

test.run();
