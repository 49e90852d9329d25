import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runBmoCli } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

// Seed 000 in the CLI with no server: short commands take turns at the data directory instead of
// failing, a holder is named for what it is, and a config over a ceiling says so.

async function withDir(fn: (dir: string) => Promise<void>) {
  const tmp = tempDir('bmo-seed-cli-');
  try {
    await fn(tmp.dir);
  } finally {
    tmp.cleanup();
  }
}

test('five concurrent finding commands with no server all wait their turn at the data directory and are all recorded', () =>
  withDir(async (dir) => {
    const created = await runBmoCli(['workstream', 'create', '--label', 'x', '--id', 'w'], dir);
    assert.is(created.code, 0, created.stderr);
    // The default --wait (10 s): each holds the data directory for its one request only, not for the
    // server's start. Five starting at once on a loaded machine may each take long to load, so the
    // safety net that kills a hung CLI is wider than the usual 30 s; the wait for the lock is not.
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => runBmoCli(['workstream', 'finding', 'w', `finding number ${i}`], dir, {}, undefined, 120_000)));
    for (const r of results) assert.is(r.code, 0, r.stderr);
    const log = readFileSync(join(dir, 'data', 'workstreams', 'w', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(log.filter((e) => e.type === 'finding_recorded').map((e) => e.data.text).sort(), [1, 2, 3, 4, 5].map((i) => `finding number ${i}`));
  }));

test('a data directory held by a CLI command is waited for up to --wait and then named as a CLI command; one held by a server is named at once', () =>
  withDir(async (dir) => {
    mkdirSync(join(dir, 'data'));
    // This test's own process stands in for the holder: it runs, on this host.
    const hold = (role: string) => writeFileSync(join(dir, 'data', 'LOCK'), JSON.stringify({ pid: process.pid, host: hostname(), started_at: new Date().toISOString(), role }) + '\n');
    hold('bmo workstream finding');
    const started = Date.now();
    const cli = await runBmoCli(['workstream', 'list', '--wait', '1'], dir);
    assert.is(cli.code, 69, cli.stderr);
    assert.ok(Date.now() - started >= 1000, 'it waited');
    assert.match(cli.stderr, /in use by a CLI command \(bmo workstream finding \(pid \d+/);
    assert.match(cli.stderr, /did not let go within 1 s: run the command again, or wait longer with --wait <seconds>/);
    assert.not.match(cli.stderr, /bmo serve/);

    hold('bmo serve');
    const served = await runBmoCli(['workstream', 'list'], dir);
    assert.is(served.code, 69, served.stderr);
    assert.match(served.stderr, /in use by a server \(bmo serve \(pid \d+/);
    assert.match(served.stderr, /Set \[server\] url or BMO_URL/);
  }));

test('max_output_bytes over the 64 KiB ceiling is a config error naming the ceiling', () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, 'bmo.toml'), '[verify]\nmax_output_bytes = 1000000\n');
    const cli = await runBmoCli(['workstream', 'list'], dir);
    assert.is(cli.code, 78, cli.stderr);
    assert.match(cli.stderr, /verify\.max_output_bytes: must be at most 65536 \(64 KiB\)/);
  }));

test.run();
