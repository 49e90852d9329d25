/** bmo as a process a user runs: a taken port, signals on start, a reader that goes away, bad options. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../../src/cli/shell.js';
import { call, CLI, closedPort, ROOT, runBmoCli, spawnServer, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

test('bmo serve on a port already taken says which and what to do, exits 78 and leaves no LOCK behind', async () => {
  const { dir, cleanup } = tempDir('bmo-serve-');
  const squatter = createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const { port } = squatter.address() as AddressInfo;
  try {
    const result = await runBmoCli(['serve', '--port', String(port), '--data-dir', join(dir, 'data')], dir, { BMO_LOG_LEVEL: 'warn' });
    assert.is(result.code, EXIT.config, result.stderr);
    assert.match(result.stderr, `bmo: 127.0.0.1:${port} is already in use`);
    assert.match(result.stderr, /--port <n>/, 'it says how to serve elsewhere');
    assert.not.match(result.stderr, /\n\s+at /, 'no stack trace for a taken port');
    assert.not.ok(existsSync(join(dir, 'data', 'LOCK')), 'the data directory is let go');
    const server = await spawnServer(join(dir, 'data'));
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'the next serve starts at once');
    assert.match(server.stdout(), /; the token as configured \(\[server\] token or BMO_TOKEN\)\)/, 'BMO_TOKEN is set: the line does not send the user to auth-token');
    assert.is(await server.stop(), 0);
  } finally {
    squatter.close();
    cleanup();
  }
});

test('a SIGTERM sent the moment bmo serve says it serves stops it cleanly: exit 0 and the LOCK let go', async () => {
  const { dir, cleanup } = tempDir('bmo-serve-');
  // bmo is held right after its line until the signal has been sent (test/fixtures/hold-after-serving.ts).
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(join(ROOT, 'dist', 'test', 'fixtures', 'hold-after-serving.js')).href}` };
  try {
    // The handlers used to be installed just after that line: a quick supervisor's SIGTERM killed bmo outright.
    for (let i = 0; i < 3; i++) {
      const hold = join(dir, `signalled-${i}`);
      const server = await spawnServer(dir, { ...env, BMO_HOLD_FILE: hold });
      const stopped = server.stop('SIGTERM'); // the signal is sent now, while bmo is held
      writeFileSync(hold, '');
      assert.is(await stopped, 0, `round ${i + 1}: ${server.stderr()}`);
      assert.not.ok(existsSync(join(dir, 'LOCK')), `round ${i + 1}: the LOCK is gone`);
    }
  } finally {
    cleanup();
  }
});

test('bmo events tail into a reader that goes away (| head) ends quietly with 0 and lets go of the data directory', async () => {
  const { dir, cleanup } = tempDir('bmo-cli-');
  try {
    const bmo = await startTestBmo(dir);
    await call(bmo, 'POST', '/v1/teams', { id: 'busy', name: 'Busy', lead: { member_id: 'lead', name: 'Lead' } });
    for (let i = 0; i < 1500; i++) await call(bmo, 'POST', '/v1/teams/busy/tasks', { task_id: `t${i}`, title: `task ${i}` });
    await bmo.close();
    // No server runs: the CLI opens the data directory itself, and prints more than a pipe holds.
    const child = spawn(process.execPath, [CLI, 'events', 'tail', '--data-dir', dir], { cwd: dir, env: { ...process.env, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    await once(child.stdout!, 'data');
    child.stdout!.destroy(); // as `head -1` does once it has its line
    const [code] = await once(child, 'exit');
    assert.is(code, 0, stderr);
    assert.not.match(stderr, /EPIPE|\n\s+at /, 'no error, no stack trace');
    assert.not.ok(existsSync(join(dir, 'LOCK')), 'the LOCK is let go');
  } finally {
    cleanup();
  }
});

test('bad options and unknown commands are usage errors: exit 2, the option named, no stack, nothing opened', async () => {
  const { dir, cleanup } = tempDir('bmo-cli-');
  try {
    for (const [args, says] of [
      [['events', 'tail', '--from', '-5'], /--from must be a whole number of 0 or more/],
      [['events', 'tail', '--from', 'abc'], /--from must be a whole number of 0 or more/],
      [['serve', '--port', '70000'], /--port must be a whole number from 0 to 65535/],
      [['cartography', '--limit', '0'], /--limit must be a whole number above 0/],
      [['bogus'], /unknown command 'bogus'/],
    ] as const) {
      const result = await runBmoCli([...args, '--data-dir', join(dir, 'data')], dir);
      assert.is(result.code, EXIT.usage, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, says);
      assert.not.match(result.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
    }
    assert.not.ok(existsSync(join(dir, 'data')), 'no data directory was made');
  } finally {
    cleanup();
  }
});

test('with a server named (BMO_URL) and none answering there, the CLI says so and leaves the local data directory alone', async () => {
  const { dir, cleanup } = tempDir('bmo-cli-');
  try {
    const bmo = await startTestBmo(join(dir, 'data'));
    await call(bmo, 'POST', '/v1/teams', { id: 'here', name: 'Here', lead: { member_id: 'lead', name: 'Lead' } });
    await bmo.close();
    const url = `http://127.0.0.1:${await closedPort()}`;
    const before = readFileSync(join(dir, 'data', 'teams', 'here', 'events.jsonl'));
    const result = await runBmoCli(['team', 'cleanup', 'here', '--data-dir', join(dir, 'data')], dir, { BMO_URL: url, BMO_TOKEN: 'x'.repeat(16) });
    assert.is(result.code, EXIT.unavailable, result.stderr);
    assert.match(result.stderr, `no bmo answers at ${url}`);
    assert.match(result.stderr, /leave the url unset/);
    assert.equal(readFileSync(join(dir, 'data', 'teams', 'here', 'events.jsonl')), before, 'nothing was written to the local log');
  } finally {
    cleanup();
  }
});

test('events tail --follow resumes across a dozen server restarts with no event in between, and says why it lost the stream', async () => {
  const { dir, cleanup } = tempDir('bmo-cli-');
  let bmo = await startTestBmo(dir, { listen: true });
  const port = Number(new URL(bmo.url!).port);
  await call(bmo, 'POST', '/v1/sessions', { session_id: 's0' });
  const tail = spawn(process.execPath, [CLI, 'events', 'tail', '--follow'], { cwd: dir, env: { ...process.env, HOME: dir, BMO_URL: bmo.url!, BMO_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  tail.stdout!.on('data', (chunk) => (out += chunk));
  tail.stderr!.on('data', (chunk) => (err += chunk));
  const until = async (check: () => boolean, what: string) => {
    for (const deadline = Date.now() + 15_000; !check(); await new Promise((resolve) => setTimeout(resolve, 20))) {
      if (Date.now() > deadline || tail.exitCode !== null) assert.unreachable(`${what}; stderr: ${err}`);
    }
  };
  try {
    await until(() => out.includes('sessions/s0#1'), 'the stored event is printed');
    // Each restart is a stream lost and found again: 12 in a row used to use up the 10 attempts the tail allows.
    for (let i = 1; i <= 12; i++) {
      await bmo.close();
      bmo = await startTestBmo(dir, { listen: true, overrides: { server: { port } } });
      await until(() => err.split('stream resumed').length - 1 === i, `resumed after restart ${i}`);
    }
    assert.match(err, /stream closed \(4001 server shutting down/, 'the close says why');
    await call(bmo, 'POST', '/v1/sessions', { session_id: 's1' });
    await until(() => out.includes('sessions/s1#1'), 'a new event after the restarts is printed');
    assert.is(out.split('sessions/s0#1').length - 1, 1, 'no event printed twice');
  } finally {
    tail.kill('SIGINT');
    await once(tail, 'exit');
    await bmo.close();
    cleanup();
  }
});

test('bmo team status shows a quiet team\'s own last events, however busy the other teams were since', async () => {
  const { dir, cleanup } = tempDir('bmo-cli-');
  try {
    const bmo = await startTestBmo(join(dir, 'data'));
    await call(bmo, 'POST', '/v1/teams', { id: 'quiet', name: 'Quiet', lead: { member_id: 'lead', name: 'Lead' } });
    await call(bmo, 'POST', '/v1/teams', { id: 'busy', name: 'Busy', lead: { member_id: 'lead', name: 'Lead' } });
    for (let i = 0; i < 300; i++) await call(bmo, 'POST', '/v1/teams/busy/tasks', { task_id: `t${i}`, title: `task ${i}` });
    await bmo.close();
    writeFileSync(join(dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
    const result = await runBmoCli(['team', 'status', 'quiet', '--json', '--data-dir', join(dir, 'data')], dir);
    assert.is(result.code, 0, result.stderr);
    const recent = (JSON.parse(result.stdout) as { recent: { stream: string; seq: number; type: string }[] }).recent;
    assert.equal(recent.map((e) => [e.stream, e.seq, e.type]), [['teams/quiet', 1, 'team_created'], ['teams/quiet', 2, 'member_joined']]);
  } finally {
    cleanup();
  }
});

test.run();
