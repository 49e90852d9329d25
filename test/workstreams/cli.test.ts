import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { cliJson, getJson, getText, runCli, writeNaniteConfig } from './support.js';

interface Served {
  url: string;
  close: () => Promise<void>;
}

/**
 * A real server (in this process: the CLI is what runs as its own process here) on a temp data dir,
 * and a temp working directory for the CLI; both removed afterwards. `restart` closes it and starts
 * another on the same data directory.
 */
async function withServer(fn: (server: Served, cwd: string, dataDir: string, restart: () => Promise<Served>) => Promise<void>): Promise<void> {
  const tmp = tempDir('bmo-ws-cli-');
  const dataDir = join(tmp.dir, 'data');
  const cwd = join(tmp.dir, 'work');
  mkdirSync(dataDir);
  mkdirSync(cwd);
  const serve = async (): Promise<Served> => {
    const bmo = await startTestBmo(dataDir, { listen: true });
    return { url: bmo.url!, close: () => bmo.close() };
  };
  let server = await serve();
  try {
    await fn(server, cwd, dataDir, async () => {
      await server.close();
      server = await serve();
      return server;
    });
  } finally {
    await server.close();
    tmp.cleanup();
  }
}

const node = (script: string) => [process.execPath, '-e', script];

test('the minimal factory shape end to end through the CLI, and it all survives a restart', () =>
  withServer(async (server, cwd, _dataDir, restart) => {
    writeNaniteConfig(cwd);
    const url = server.url;
    const created = await cliJson(cwd, url, ['workstream', 'create', '--label', 'docs/book-visual-coverage']);
    const id: string = created.workstream_id;
    assert.match(id, /^[a-z0-9][a-z0-9-]{0,63}$/);

    const plan = await runCli(cwd, url, ['workstream', 'set-plan', id, '--path', 'docs/plans/book-visual-coverage.md', '--kind', 'custom']);
    assert.is(plan.code, 0, plan.stderr);

    // The seed's form: the command's own options (here node's) go to the command, not to bmo.
    const passing = await runCli(cwd, url, ['workstream', 'verify-run', '--session', 'parent-1', id, process.execPath, '--no-warnings', '-e', "console.log('ok')"]);
    assert.is(passing.code, 0, passing.stderr);
    assert.is(passing.stdout, 'ok\n', 'the command output is passed through as it runs');
    assert.match(passing.stderr, /verify run \S+ recorded on/);

    const failing = await runCli(cwd, url, ['workstream', 'verify-run', id, '--session', 'parent-1', '--', ...node("console.error('boom'); process.exit(3)")]);
    assert.is(failing.code, 3, 'the CLI exits with the command\'s code');
    assert.match(failing.stderr, /boom/);

    // No --workstream: the most recent workstream whose events carry the parent session.
    const nanite = await runCli(cwd, url, ['nanite', 'run', '--session', 'parent-1', 'summarize residual docs gaps for this workstream']);
    assert.is(nanite.code, 0, nanite.stderr);
    assert.match(nanite.stdout, new RegExp(`nanite summary for ${id} \\(parent parent-1\\)`));

    const status = await cliJson(cwd, url, ['workstream', 'status', id]);
    assert.is(status.label, 'docs/book-visual-coverage');
    assert.equal(status.bindings.plan, { ...status.bindings.plan, path: 'docs/plans/book-visual-coverage.md', kind: 'custom' });
    assert.is(status.last_verify.exit_code, 3);
    assert.is(status.last_verify.passed, false);
    assert.equal({ posture: status.verify.posture, runs: status.verify.runs, passed: status.verify.passed, failed: status.verify.failed }, { posture: 'failing', runs: 2, passed: 1, failed: 1 });
    assert.equal({ posture: status.nanites.posture, total: status.nanites.total, completed: status.nanites.completed }, { posture: 'completed', total: 1, completed: 1 });
    assert.is(status.preflight.ready, false);
    assert.is(status.drill_in.handoff.route, `/v1/workstreams/${id}/handoff`);

    const show = await cliJson(cwd, url, ['workstream', 'show', id]);
    assert.equal(show.verify_runs[0].argv, [process.execPath, '--no-warnings', '-e', "console.log('ok')"]);
    assert.is(show.verify_runs[0].output_tail, 'ok\n');
    assert.is(show.verify_runs[0].cwd, cwd);
    assert.is(show.verify_runs[0].session_id, 'parent-1');
    assert.equal([show.verify_runs[1].exit_code, show.verify_runs[1].signal, show.verify_runs[1].timed_out, show.verify_runs[1].truncated], [3, null, false, false]);
    assert.match(show.verify_runs[1].output_tail, /boom/);
    assert.is(show.nanites[0].session_id, 'parent-1');
    assert.is(show.nanites[0].outcome, 'completed');
    assert.is(show.nanites[0].exit_code, 0);
    assert.match(show.nanites[0].handoff, /prompt had 48 characters: summarize residual docs gaps/);
    assert.ok(show.sessions.includes('parent-1'));

    const handoff = await cliJson(cwd, url, ['workstream', 'handoff', id, '--format', 'json']);
    assert.is(handoff.workstream_id, id);
    assert.is(handoff.plan.path, 'docs/plans/book-visual-coverage.md');
    assert.is(handoff.nanites.rows[0].state, 'completed');
    assert.match(handoff.nanites.rows[0].handoff, /residual gaps: none found/);
    assert.equal(handoff.verification.rows.map((r: { passed: boolean }) => r.passed), [true, false]);
    assert.is(handoff.status, 'active');
    const md = await runCli(cwd, url, ['workstream', 'handoff', id, '--format', 'md']);
    assert.is(md.code, 0, md.stderr);
    assert.match(md.stdout, /^# Handoff: docs\/book-visual-coverage/);
    assert.match(md.stdout, /custom `docs\/plans\/book-visual-coverage.md`/);
    assert.match(md.stdout, /nanite `[^`]+` — completed/);
    assert.match(md.stdout, /\*\*failed\*\* \(exit 3\)/);

    // Finish the row so the handoff has every section filled, then restart.
    assert.is((await runCli(cwd, url, ['workstream', 'boundary', id, 'nanite'])).code, 0);
    assert.is((await runCli(cwd, url, ['workstream', 'finding', id, '--severity', 'high', '--path', 'docs/book/ch1.md', 'missing', 'figures'])).code, 0);
    assert.is((await runCli(cwd, url, ['workstream', 'artifact', id, 'docs/dist/index.html', '--digest', 'sha256:00'])).code, 0);
    const marker = await cliJson(cwd, url, ['workstream', 'marker', 'add', id, '--path', 'docs/book/ch1.md', '--note', 'inspect before editing']);
    await cliJson(cwd, url, ['workstream', 'marker', 'add', id, '--path', 'docs/book/ch2.md', '--note', 'cleared later']).then((m) =>
      runCli(cwd, url, ['workstream', 'marker', 'clear', id, m.marker_id, '--reason', 'fixed']),
    );
    assert.is((await runCli(cwd, url, ['workstream', 'set-status', id, 'partial', '--reason', 'figures left'])).code, 0);
    const list = await cliJson(cwd, url, ['workstream', 'list']);
    assert.equal(list.workstreams.map((w: { workstream_id: string }) => w.workstream_id), [id]);

    const read = async (u: string) => ({
      status: await getJson(u, `/v1/workstreams/${id}/status`),
      show: await getJson(u, `/v1/workstreams/${id}`),
      handoff: await getJson(u, `/v1/workstreams/${id}/handoff`),
      markdown: (await getText(u, `/v1/workstreams/${id}/handoff`, { accept: 'text/markdown' })).body,
      cartography: await getJson(u, '/v1/cartography'),
    });
    const before = await read(url);
    assert.equal(before.handoff.open_markers.rows.map((m: { marker_id: string }) => m.marker_id), [marker.marker_id]);
    assert.ok(before.cartography.trail.some((t: { kind: string; path?: string }) => t.kind === 'marker_hotspot' && t.path === 'docs/book/ch1.md'), 'a finding on a marked path');
    const again = await restart();
    assert.equal(await read(again.url), before);
  }));

test('verify-run output streams live, over the bound it is truncated and flagged, and repeated failures make a trail', () =>
  withServer(async (server, cwd) => {
    writeNaniteConfig(cwd, [], '[verify]\nmax_output_bytes = 1000\n');
    const url = server.url;
    const { workstream_id: id } = await cliJson(cwd, url, ['workstream', 'create', '--label', 'build/truncation', '--id', 'trunc']);

    // Live: the first line is on our stdout while the command is still running; it prints its
    // second line only once it sees the file the test writes after reading the first.
    const goAhead = join(cwd, 'go-ahead');
    const second = `const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(goAhead)})) { clearInterval(t); console.log('second'); } }, 10)`;
    const child = spawn(process.execPath, [CLI, 'workstream', 'verify-run', id, '--', ...node(`console.log('first'); ${second}`)], {
      cwd,
      env: { ...process.env, HOME: cwd, BMO_URL: url, BMO_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sawFirstWhileRunning = await new Promise<boolean>((resolve) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('first')) {
          resolve(child.exitCode === null && !out.includes('second'));
          writeFileSync(goAhead, '');
        }
      });
      child.once('close', () => resolve(false));
    });
    assert.ok(sawFirstWhileRunning, 'output arrives as the command runs, not at the end');
    await new Promise((resolve) => child.once('close', resolve));

    const noisy = node("process.stdout.write('x'.repeat(5000) + 'END\\n'); process.exit(1)");
    for (let i = 0; i < 2; i++) {
      const result = await runCli(cwd, url, ['workstream', 'verify-run', id, '--', ...noisy]);
      assert.is(result.code, 1);
      assert.is(result.stdout.length, 5004, 'the terminal still sees all of it');
    }
    const show = await getJson(url, `/v1/workstreams/${id}`);
    const last = show.verify_runs[show.verify_runs.length - 1];
    assert.is(last.truncated, true);
    assert.is(Buffer.byteLength(last.output_tail), 1000);
    assert.ok(last.output_tail.endsWith('END\n'), 'the tail is kept');

    const timedOut = await runCli(cwd, url, ['workstream', 'verify-run', id, '--timeout', '300', '--', ...node('setTimeout(() => {}, 10000)')]);
    assert.is(timedOut.code, 124);
    const status = await getJson(url, `/v1/workstreams/${id}/status`);
    assert.equal([status.last_verify.timed_out, status.last_verify.passed, status.last_verify.signal], [true, false, 'SIGTERM']);

    const cartography = await cliJson(cwd, url, ['cartography']);
    const command = noisy.join(' ');
    const failing = cartography.trail.find((t: { kind: string; command: string }) => t.kind === 'failing_command' && t.command === command);
    assert.ok(failing, JSON.stringify(cartography.trail, null, 2));
    assert.equal([failing.failed, failing.of, failing.workstreams], [2, 2, [id]]);
    assert.ok(cartography.trail.some((t: { kind: string; command: string }) => t.kind === 'repeated_truncation' && t.command === command));
    assert.is(cartography.heat.workstreams[0].verify_failures, 3);
    const text = await runCli(cwd, url, ['cartography']);
    assert.match(text.stdout, /failing_command: .* failed in 2 of its last 2 runs/);
  }));

test('verify-run gives the command every word after the id, its options and its own -- included; bmo takes only its own options before the command', () =>
  withServer(async (server, cwd) => {
    const url = server.url;
    await cliJson(cwd, url, ['workstream', 'create', '--label', 'argv', '--id', 'argv']);
    // A script file, not -e: node would take the options after an -e script for its own.
    writeFileSync(join(cwd, 'args.js'), 'console.log(JSON.stringify(process.argv.slice(2)))');
    const echo = [process.execPath, join(cwd, 'args.js')];
    for (const [args, expected] of [
      [['argv', ...echo, '--timeout', '30', '--json', 'x'], ['--timeout', '30', '--json', 'x']],
      [['argv', ...echo, 'a', '--', 'b'], ['a', '--', 'b']],
      [['--timeout', '20000', 'argv', '--', ...echo, '--session', 's9'], ['--session', 's9']],
      [['argv', '--', ...echo, '--help'], ['--help']],
    ] as const) {
      const result = await runCli(cwd, url, ['workstream', 'verify-run', ...args]);
      assert.is(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(JSON.parse(result.stdout.trim()), expected, args.join(' '));
    }
    const runs = (await getJson(url, '/v1/workstreams/argv/verify-runs')).verify_runs as { argv: string[] }[];
    assert.equal(runs.map((r) => r.argv.slice(2)), [
      ['--timeout', '30', '--json', 'x'],
      ['a', '--', 'b'],
      ['--session', 's9'],
      ['--help'],
    ]);
  }),
);

test('a verify run whose CLI gets SIGHUP (the terminal went away) stops the command and is still recorded', () =>
  withServer(async (server, cwd) => {
    await cliJson(cwd, server.url, ['workstream', 'create', '--label', 'hup', '--id', 'hup']);
    const marker = join(cwd, 'still-running');
    const child = spawn(process.execPath, [CLI, 'workstream', 'verify-run', 'hup', ...node(`console.log('started ' + process.pid); setTimeout(() => require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'), 60000)`)], {
      cwd,
      env: { ...process.env, HOME: cwd, BMO_URL: server.url, BMO_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = await new Promise<number>((resolve) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        const started = /started (\d+)/.exec(out);
        if (started) resolve(Number(started[1]));
      });
    });
    child.kill('SIGHUP');
    await new Promise((resolve) => child.once('exit', resolve));
    // The CLI waits for its command before it exits: by now the command's process is gone.
    const running = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.not.ok(running(), 'the command was stopped, not left running');
    assert.not.ok(existsSync(marker), 'the command never got to write its file');
    const runs = (await getJson(server.url, '/v1/workstreams/hup/verify-runs')).verify_runs as { signal?: string | null }[];
    assert.is(runs.length, 1, 'the run is recorded');
  }),
);

test('a nanite whose run never reported back is closed with bmo nanite close, and no longer holds up the preflight', () =>
  withServer(async (server, cwd) => {
    const url = server.url;
    await cliJson(cwd, url, ['workstream', 'create', '--label', 'stuck', '--id', 'stuck']);
    // What a killed CLI leaves: the start recorded, the completion never sent.
    const started = await fetch(`${url}/v1/workstreams/stuck/nanites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ nanite_id: 'n1', session_id: 's1', prompt: 'look around', executor: ['agent'] }),
    });
    assert.is(started.status, 201, await started.text());
    const before = await cliJson(cwd, url, ['workstream', 'status', 'stuck']);
    assert.ok(before.preflight.checks.some((c: { check: string; ok: boolean }) => c.check === 'no_running_nanites' && !c.ok));
    assert.match((await getText(url, '/v1/workstreams/stuck/handoff?format=md')).body, /bmo nanite close stuck n1/);

    const closed = await runCli(cwd, url, ['nanite', 'close', 'stuck', 'n1', '--note', 'the laptop slept']);
    assert.is(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /nanite n1 on workstream stuck closed as partial/);
    const nanite = await getJson(url, '/v1/workstreams/stuck/nanites/n1');
    assert.is(nanite.state, 'partial');
    const after = await cliJson(cwd, url, ['workstream', 'status', 'stuck']);
    assert.ok(after.preflight.checks.some((c: { check: string; ok: boolean }) => c.check === 'no_running_nanites' && c.ok));
    const again = await runCli(cwd, url, ['nanite', 'close', 'stuck', 'n1']);
    assert.is(again.code, 4, `closing it twice is a conflict: ${again.stderr}`);
  }),
);

test('bad input is refused with a message naming the field and writes nothing', () =>
  withServer(async (server, cwd) => {
    writeFileSync(join(cwd, 'bmo.toml'), '');
    const url = server.url;
    await cliJson(cwd, url, ['workstream', 'create', '--label', 'refusals', '--id', 'w1']);
    const head = async () => (await getJson(url, '/healthz')).pos;
    const before = await head();
    const cases: [string[], RegExp, number][] = [
      [['workstream', 'set-plan', 'w1', '--path', 'p.md', '--kind', 'novel'], /kind: .*custom/, 2],
      [['workstream', 'set-status', 'w1', 'done'], /status: /, 2],
      [['workstream', 'create', '--label', 'x'.repeat(10_000)], /label: must be at most 200 characters/, 2],
      [['workstream', 'create', '--label', 'ok', '--id', 'Not_An_Id'], /id: must be 1-64 characters/, 2],
      [['workstream', 'status', 'Not_An_Id'], /id: "Not_An_Id" is not an id/, 2],
      [['workstream', 'boundary', 'w1', 'everyone'], /boundary: /, 2],
      [['workstream', 'status', 'nope'], /no workstream nope/, 3],
    ];
    for (const [args, message, code] of cases) {
      const result = await runCli(cwd, url, args);
      assert.is(result.code, code, `bmo ${args.join(' ').slice(0, 80)}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const nul = await fetch(`${url}/v1/workstreams/w1/markers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'docs/\u0000x', note: 'n' }),
    });
    assert.is(nul.status, 400);
    assert.match(((await nul.json()) as { message: string }).message, /^path: must not contain NUL/);

    // A verify run on a workstream that is not there never runs the command.
    const witness = join(cwd, 'ran');
    const missing = await runCli(cwd, url, ['workstream', 'verify-run', 'nope', '--', ...node(`require('fs').writeFileSync(${JSON.stringify(witness)}, '')`)]);
    assert.is(missing.code, 3, missing.stderr);
    assert.not.ok(existsSync(witness), 'the command did not run');

    // Without an executor, nanite run says how to configure one.
    const nanite = await runCli(cwd, url, ['nanite', 'run', '--session', 'parent-1', '--workstream', 'w1', 'look around']);
    assert.is(nanite.code, 78);
    assert.match(nanite.stderr, /\[nanite\]\n\s*command = \["my-agent", "--print"\]/);
    assert.is(await head(), before, 'nothing was written');
  }));

test('a failing nanite and a timed-out nanite are recorded with their outcome; BMO_WORKSTREAM picks the workstream', () =>
  withServer(async (server, cwd) => {
    const url = server.url;
    await cliJson(cwd, url, ['workstream', 'create', '--label', 'lanes', '--id', 'lanes']);
    writeNaniteConfig(cwd, ['--fail']);
    const failed = await runCli(cwd, url, ['nanite', 'run', '--session', 'p2', 'check'], { BMO_WORKSTREAM: 'lanes' });
    assert.is(failed.code, 5, failed.stderr);
    writeNaniteConfig(cwd, ['--sleep', '5000']);
    const slow = await runCli(cwd, url, ['nanite', 'run', '--session', 'p2', '--timeout', '300', 'check'], { BMO_WORKSTREAM: 'lanes' });
    assert.is(slow.code, 124, slow.stderr);
    const nanites = (await getJson(url, '/v1/workstreams/lanes/nanites')).nanites;
    assert.equal(
      nanites.map((n: { outcome: string; exit_code: number | null; session_id: string }) => [n.outcome, n.exit_code, n.session_id]),
      [
        ['failed', 5, 'p2'],
        ['timeout', null, 'p2'],
      ],
    );
    assert.match(nanites[0].handoff, /prompt had 5 characters: check/);
  }));

test("the seed's flow without --workstream: create and set-plan carry the session (BMO_SESSION_ID or --session), so nanite run --session finds the workstream", () =>
  withServer(async (server, cwd) => {
    writeNaniteConfig(cwd);
    const url = server.url;
    // An older workstream carrying another session, so the lookup has to pick.
    await cliJson(cwd, url, ['workstream', 'create', '--label', 'other', '--id', 'other', '--session', 'someone-else']);
    const { workstream_id: id } = await cliJson(cwd, url, ['workstream', 'create', '--label', 'docs/book-visual-coverage'], { BMO_SESSION_ID: 'parent-9' });
    const plan = await runCli(cwd, url, ['workstream', 'set-plan', id, '--path', 'docs/plans/book-visual-coverage.md', '--kind', 'custom', '--session', 'parent-9']);
    assert.is(plan.code, 0, plan.stderr);
    // The verify run carries no session at all: the workstream is found by create and set-plan alone.
    const verify = await runCli(cwd, url, ['workstream', 'verify-run', id, '--', ...node("console.log('ok')")]);
    assert.is(verify.code, 0, verify.stderr);

    const nanite = await runCli(cwd, url, ['nanite', 'run', '--session', 'parent-9', 'summarize residual docs gaps for this workstream']);
    assert.is(nanite.code, 0, nanite.stderr);
    assert.match(nanite.stdout, new RegExp(`nanite summary for ${id} \\(parent parent-9\\)`));

    const events = (await getJson(url, `/v1/workstreams/${id}/events`)).events as { type: string; meta: { session_id?: string } }[];
    assert.equal(
      events.map((e) => [e.type, e.meta.session_id]),
      [
        ['workstream_created', 'parent-9'],
        ['plan_bound', 'parent-9'],
        ['verify_run_recorded', undefined],
        ['nanite_started', 'parent-9'],
        ['nanite_completed', 'parent-9'],
      ],
    );
    assert.is((await getJson(url, '/v1/workstreams/other/nanites')).nanites.length, 0);

    // The parent session may come from BMO_SESSION_ID, as for the workstream verbs; with neither, nothing runs.
    const fromEnv = await runCli(cwd, url, ['nanite', 'run', 'again'], { BMO_SESSION_ID: 'parent-9' });
    assert.is(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, new RegExp(`nanite summary for ${id} \\(parent parent-9\\)`));
    const noSession = await runCli(cwd, url, ['nanite', 'run', 'again']);
    assert.is(noSession.code, 2, noSession.stderr);
    assert.match(noSession.stderr, /--session <id> or set BMO_SESSION_ID/);
    assert.is((await getJson(url, `/v1/workstreams/${id}/nanites`)).nanites.length, 2, 'the refused run recorded nothing');

    const bad = await runCli(cwd, url, ['workstream', 'set-status', id, 'partial', '--session', 'Not_An_Id']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /session: /);
  }));

test('nanite run without --workstream, when no workstream carries the session, says what to pass, names the only workstream and writes nothing', () =>
  withServer(async (server, cwd) => {
    writeNaniteConfig(cwd);
    const url = server.url;
    const none = await runCli(cwd, url, ['nanite', 'run', '--session', 'parent-1', 'look around']);
    assert.is(none.code, 3, none.stderr);
    assert.match(none.stderr, /no workstream carries session parent-1; there are no workstreams yet: bmo workstream create --label L --session parent-1/);

    await cliJson(cwd, url, ['workstream', 'create', '--label', 'the seed flow', '--id', 'seed-flow']);
    assert.is((await runCli(cwd, url, ['workstream', 'set-plan', 'seed-flow', '--path', 'plan.md'])).code, 0);
    const before = (await getJson(url, '/healthz')).pos;
    const one = await runCli(cwd, url, ['nanite', 'run', '--session', 'parent-1', 'look around']);
    assert.is(one.code, 3, one.stderr);
    assert.match(one.stderr, /no workstream carries session parent-1; the only workstream is seed-flow: pass --workstream seed-flow, or set BMO_WORKSTREAM/);
    assert.match(one.stderr, /give --session parent-1 \(or BMO_SESSION_ID=parent-1\) to workstream create, set-plan, verify-run/);
    assert.is((await getJson(url, '/healthz')).pos, before, 'nothing was written');

    await cliJson(cwd, url, ['workstream', 'create', '--label', 'another']);
    const two = await runCli(cwd, url, ['nanite', 'run', '--session', 'parent-1', 'look around']);
    assert.is(two.code, 3, two.stderr);
    assert.match(two.stderr, /pass --workstream <id> \(one of the 2: bmo workstream list\), or set BMO_WORKSTREAM/);
  }));

test.run();
