import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort, readLog, serveHere, spawnServer } from '../helpers/bmo.js';
import { runCli, withDirs } from './support.js';

// Seed 000, interruption: every result the CLI records (artifacts and markers too) is spooled with
// its Idempotency-Key when its server cannot be reached, and waits for that server only.

const events = (dataDir: string, type: string) => readLog(join(dataDir, 'workstreams', 'w', 'events.jsonl')).filter((e) => e.type === type);
const spooled = (spool: string) => readdirSync(spool).filter((n) => n.endsWith('.json'));

test('artifacts, markers and a marker cleared while the server is killed are spooled with their keys and sent once when it is back', () =>
  withDirs(async ({ root, dataDir, cwd }) => {
    const port = await closedPort();
    const spool = join(root, 'spool');
    const env = { BMO_SPOOL_DIR: spool, XDG_STATE_HOME: join(root, 'state') };
    let server = await spawnServer(dataDir, {}, port);
    try {
      assert.is((await runCli(cwd, server.url, ['workstream', 'create', '--label', 'x', '--id', 'w'], env)).code, 0);
      const marked = await runCli(cwd, server.url, ['workstream', 'marker', 'add', 'w', '--path', 'a.md', '--note', 'check the table', '--json'], env);
      const markerId = JSON.parse(marked.stdout).marker_id;
      await server.stop('SIGKILL');

      const artifact = await runCli(cwd, server.url, ['workstream', 'artifact', 'w', 'https://ci.example/report.html', '--json'], env);
      assert.is(artifact.code, 0, artifact.stderr);
      assert.match(artifact.stderr, /artifact https:\/\/ci.example\/report.html on w: recorded locally \(.*\); will be sent by the next bmo command that reaches/);
      // An agent reading --json gets one object saying where the result waits, not an empty stdout.
      const waiting = JSON.parse(artifact.stdout);
      assert.equal({ ...waiting, spooled_as: typeof waiting.spooled_as }, { recorded: false, spooled_as: 'string', waits_for: server.url, what: 'artifact https://ci.example/report.html on w' });
      const marker = await runCli(cwd, server.url, ['workstream', 'marker', 'add', 'w', '--path', 'b.md', '--note', 'half done'], env);
      assert.is(marker.code, 0, marker.stderr);
      assert.match(marker.stderr, /marker on b.md in w: recorded locally/);
      const cleared = await runCli(cwd, server.url, ['workstream', 'marker', 'clear', 'w', markerId, '--reason', 'checked'], env);
      assert.is(cleared.code, 0, cleared.stderr);
      assert.match(cleared.stderr, new RegExp(`clearing marker ${markerId} in w: recorded locally`));
      const names = spooled(spool);
      assert.is(names.length, 3);
      for (const name of names) assert.match(JSON.parse(readFileSync(join(spool, name), 'utf8')).headers['idempotency-key'], /^[0-9a-f-]{36}$/);
      const first = readFileSync(join(spool, names[0]), 'utf8');

      server = await spawnServer(dataDir, {}, port);
      const list = await runCli(cwd, server.url, ['workstream', 'list'], env);
      assert.is(list.code, 0, list.stderr);
      assert.match(list.stderr, /sent 3 result\(s\) recorded locally earlier: artifact https:\/\/ci.example\/report.html on w, marker on b.md in w, clearing marker/);
      assert.equal(spooled(spool), []);
      assert.equal(events(dataDir, 'artifact_attached').map((e) => e.data.ref), ['https://ci.example/report.html']);
      assert.equal(events(dataDir, 'marker_added').map((e) => e.data.path), ['a.md', 'b.md']);
      assert.equal(events(dataDir, 'marker_cleared').map((e) => e.data.marker_id), [markerId]);

      // The artifact's answer lost after the server took it: sent again, its key makes it a no-op.
      writeFileSync(join(spool, names[0]), first);
      const sync = await runCli(cwd, server.url, ['sync'], env);
      assert.is(sync.code, 0, sync.stderr);
      assert.match(sync.stdout, /sent 1 result\(s\) to http/);
      assert.is(events(dataDir, 'artifact_attached').length, 1, 'recorded once');
    } finally {
      await server.stop('SIGKILL');
    }
  }));

test('results wait for the server they were meant for: another says so, bmo sync lists them by URL, --from sends them here, --drop throws them away', () =>
  withDirs(async ({ root, dataDir, cwd }) => {
    const gone = `http://127.0.0.1:${await closedPort()}`;
    const spool = join(root, 'spool');
    const env = { BMO_SPOOL_DIR: spool, XDG_STATE_HOME: join(root, 'state') };
    const server = await serveHere(dataDir);
    try {
      assert.is((await runCli(cwd, server.url, ['workstream', 'create', '--label', 'x', '--id', 'w'], env)).code, 0);
      const meant = await runCli(cwd, gone, ['workstream', 'finding', 'w', 'the index is stale'], env);
      assert.is(meant.code, 0, meant.stderr);
      assert.match(meant.stderr, new RegExp(`recorded locally .*reaches ${gone}`));

      const other = await runCli(cwd, server.url, ['workstream', 'list'], env);
      assert.is(other.code, 0, other.stderr);
      assert.match(other.stderr, new RegExp(`1 result\\(s\\) recorded locally wait for ${gone}, not this server \\(finding on w\\); bmo sync says how to send or drop them`));
      assert.equal(events(dataDir, 'finding_recorded'), [], 'not sent to another server');

      const sync = await runCli(cwd, server.url, ['sync'], env);
      assert.is(sync.code, 0, sync.stderr);
      assert.match(sync.stdout, new RegExp(`nothing to send to ${server.url}`));
      assert.match(sync.stdout, new RegExp(`1 result\\(s\\) recorded locally wait for ${gone}: finding on w`));
      assert.match(sync.stdout, new RegExp(`to send them to ${server.url} instead: bmo sync --from ${gone}`));
      assert.match(sync.stdout, new RegExp(`to throw them away: bmo sync --drop ${gone}`));
      assert.equal(spooled(spool).length, 1);

      const moved = await runCli(cwd, server.url, ['sync', '--from', gone], env);
      assert.is(moved.code, 0, moved.stderr);
      assert.match(moved.stdout, new RegExp(`sent 1 result\\(s\\) to ${server.url}: finding on w`));
      assert.equal(events(dataDir, 'finding_recorded').map((e) => e.data.text), ['the index is stale']);

      assert.is((await runCli(cwd, gone, ['workstream', 'artifact', 'w', 'out/report.html'], env)).code, 0);
      const listed = await runCli(cwd, server.url, ['sync', '--list', '--json'], env);
      assert.equal(JSON.parse(listed.stdout).waiting, [{ url: gone, what: ['artifact out/report.html on w'] }]);
      const dropped = await runCli(cwd, server.url, ['sync', '--drop', gone], env);
      assert.is(dropped.code, 0, dropped.stderr);
      assert.match(dropped.stdout, new RegExp(`dropped 1 result\\(s\\) meant for ${gone}: artifact out/report.html on w`));
      assert.equal(spooled(spool), []);
      assert.match((await runCli(cwd, server.url, ['sync'], env)).stdout, /nothing recorded locally/);
    } finally {
      await server.stop();
    }
  }));

test.run();
