import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort, serveHere, spawnServer } from '../helpers/bmo.js';
import { getJson, gitRepo, node, runCli, verifyRuns, withDirs } from './support.js';

// Seed 000 through the real CLI: git context captured where the CLI runs, recipes run as verify
// steps, and a result the server could not take spooled and sent later, never lost nor doubled.

test('recipe steps run in order through bmo workstream verify, each recorded with its step and the git context; the first failure stops it with its code', () =>
  withDirs(async ({ dataDir, cwd }) => {
    const head = gitRepo(cwd);
    const server = await serveHere(dataDir);
    try {
      const env = { BMO_SPOOL_DIR: join(dataDir, '..', 'spool') };
      assert.is((await runCli(cwd, server.url, ['workstream', 'create', '--label', 'x', '--id', 'w'], env)).code, 0);
      for (const [step, script] of [
        ['build', 'console.log("built")'],
        ['test', 'process.exit(3)'],
        ['lint', 'console.log("linted")'],
      ]) {
        const added = await runCli(cwd, server.url, ['workstream', 'recipe', 'add', 'w', step, '--', ...node(script)], env);
        assert.is(added.code, 0, added.stderr);
      }
      const verify = await runCli(cwd, server.url, ['workstream', 'verify', 'w'], env);
      assert.is(verify.code, 3, verify.stderr);
      assert.match(verify.stdout, /built/);
      assert.not.match(verify.stdout, /linted/, 'stopped at the first failure');
      const runs = verifyRuns(dataDir, 'w');
      assert.equal(runs.map((r) => [r.data.step, r.data.exit_code]), [['build', 0], ['test', 3]]);
      assert.equal(runs[0].data.git, { root: cwd, branch: 'main', commit: head, dirty: false });
      const handoff = await runCli(cwd, server.url, ['workstream', 'handoff', 'w'], env);
      assert.match(handoff.stdout, /fix and re-run: bmo workstream verify w test\b/, 'the failed step, by name');

      const one = await runCli(cwd, server.url, ['workstream', 'verify', 'w', 'lint'], env);
      assert.is(one.code, 0, one.stderr);
      const status = await getJson(server.url, '/v1/workstreams/w/status');
      assert.match(status.preflight.checks.find((c: { check: string }) => c.check === 'verified_since_plan').detail, /no plan bound/);
      assert.equal(verifyRuns(dataDir, 'w').map((r) => r.data.step), ['build', 'test', 'lint']);

      const unknown = await runCli(cwd, server.url, ['workstream', 'verify', 'w', 'deploy'], env);
      assert.is(unknown.code, 3);
      assert.match(unknown.stderr, /no step deploy in the recipe of w \(steps: build, test, lint\)/);
    } finally {
      await server.stop();
    }
  }));

test('a verify run whose server is killed while it runs is spooled with its key, said so, exits with its own code; the next command sends it once', () =>
  withDirs(async ({ root, dataDir, cwd }) => {
    const port = await closedPort();
    let server = await spawnServer(dataDir, {}, port);
    const spool = join(root, 'spool');
    const env = { BMO_SPOOL_DIR: spool };
    try {
      assert.is((await runCli(cwd, server.url, ['workstream', 'create', '--label', 'x', '--id', 'w'], env)).code, 0);
      const pid = server.child.pid!;
      // The verification itself kills the server: its result has nowhere to go.
      assert.is((await runCli(cwd, server.url, ['workstream', 'recipe', 'add', 'w', 'check', '--', ...node(`process.kill(${pid}, 'SIGKILL'); console.log('verified')`)], env)).code, 0);
      const killing = await runCli(cwd, server.url, ['workstream', 'verify', 'w'], env);
      assert.is(killing.code, 0, killing.stderr);
      assert.match(killing.stdout, /verified/);
      assert.match(killing.stderr, /recorded locally \(.*\); will be sent by the next bmo command that reaches .*, or by bmo sync/);
      const spooled = readdirSync(spool).filter((n) => n.endsWith('.json'));
      assert.is(spooled.length, 1);
      const entry = JSON.parse(readFileSync(join(spool, spooled[0]), 'utf8'));
      assert.match(entry.headers['idempotency-key'], /^[0-9a-f-]{36}$/);
      if (server.child.exitCode === null && server.child.signalCode === null) await once(server.child, 'exit');
      assert.equal(verifyRuns(dataDir, 'w'), []);

      server = await spawnServer(dataDir, {}, port);
      const list = await runCli(cwd, server.url, ['workstream', 'list'], env);
      assert.is(list.code, 0, list.stderr);
      assert.match(list.stderr, /sent 1 result\(s\) recorded locally earlier: verify run \(step check\) on w/);
      assert.equal(verifyRuns(dataDir, 'w').map((r) => r.data.exit_code), [0]);
      assert.equal(readdirSync(spool).filter((n) => n.endsWith('.json')), []);

      // Sent twice (the answer lost after the server took it): the key makes the second a no-op.
      writeFileSync(join(spool, spooled[0]), JSON.stringify(entry));
      const sync = await runCli(cwd, server.url, ['sync'], env);
      assert.is(sync.code, 0, sync.stderr);
      assert.equal(verifyRuns(dataDir, 'w').length, 1, 'recorded once');
      const nothing = await runCli(cwd, server.url, ['sync'], env);
      assert.match(nothing.stdout, /nothing recorded locally/);
    } finally {
      await server.stop('SIGKILL');
    }
  }));

test('outside a git repository no context is recorded, and the CLI says so once for that directory', () =>
  withDirs(async ({ dataDir, root }) => {
    const plain = join(root, 'plain');
    const other = join(root, 'other');
    mkdirSync(plain);
    mkdirSync(other);
    const server = await serveHere(dataDir);
    try {
      const env = { BMO_SPOOL_DIR: join(root, 'spool'), XDG_STATE_HOME: join(root, 'state'), GIT_CEILING_DIRECTORIES: root };
      const said: string[] = [];
      const run = async (cwd: string, args: string[]) => {
        const result = await runCli(cwd, server.url, args, env);
        assert.is(result.code, 0, result.stderr);
        said.push(...(result.stderr.match(/bmo: \S+ is not in a git repository.*\n/g) ?? []));
      };
      await run(plain, ['workstream', 'create', '--label', 'x', '--id', 'w']);
      await run(plain, ['workstream', 'recipe', 'add', 'w', 'noop', '--', ...node('0')]);
      await run(plain, ['workstream', 'verify', 'w', 'noop']);
      await run(plain, ['workstream', 'verify-run', 'w', ...node('0')]);
      assert.equal(said, [`bmo: ${plain} is not in a git repository (or has no commit yet): no branch or commit is recorded for work done here (said once for this directory)\n`]);
      await run(other, ['workstream', 'verify', 'w']);
      await run(other, ['workstream', 'verify', 'w']);
      assert.is(said.length, 2, 'another directory is told once too');
      assert.match(said[1], new RegExp(`^bmo: ${other} is not`));
      assert.is(verifyRuns(dataDir, 'w')[0].data.git, undefined);
      assert.ok(!existsSync(join(root, 'spool')) || readdirSync(join(root, 'spool')).length === 0);
    } finally {
      await server.stop();
    }
  }));

test('with no server the CLI keeps ./data in the repository it runs in, and the git context it records stays clean (bmo ignores its own directory)', () =>
  withDirs(async ({ root, cwd }) => {
    const head = gitRepo(cwd);
    const env = { BMO_URL: '', BMO_SPOOL_DIR: join(root, 'spool'), XDG_STATE_HOME: join(root, 'state') };
    const run = async (args: string[]) => {
      const result = await runCli(cwd, '', args, env);
      assert.is(result.code, 0, result.stderr);
    };
    await run(['workstream', 'create', '--label', 'x', '--id', 'w']);
    await run(['workstream', 'verify-run', 'w', ...node('0')]);
    const dataDir = join(cwd, 'data');
    assert.equal(readFileSync(join(dataDir, '.gitignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')), ['*']);
    assert.equal(verifyRuns(dataDir, 'w').map((r) => r.data.git), [{ root: cwd, branch: 'main', commit: head, dirty: false }]);
  }));

test.run();
