import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call, runBmoCli, spawnServer, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { diskSnapshot } from '../http/support.js';
import { tempDir } from '../helpers/tmp.js';

test('bmo token issue prints the token once, list never shows a secret, revoke refuses it from the next request', async () => {
  const tmp = tempDir();
  try {
    const issued = await runBmoCli(['--data-dir', tmp.dir, 'token', 'issue', '--name', 'bob', '--role', 'agent', '--member', 'bob', '--team', 'docs', '--expires', '7d'], tmp.dir);
    assert.is(issued.code, 0, issued.stderr);
    const token = issued.stdout.split('\n').find((line) => line.startsWith('bmo_'))!;
    assert.match(token, /^bmo_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const id = token.split('_')[1];
    assert.match(issued.stdout, new RegExp(`issued ${id} "bob" \\(agent, member bob, teams docs, expires `));

    const missing = await runBmoCli(['--data-dir', tmp.dir, 'token', 'issue', '--name', 'x', '--role', 'agent'], tmp.dir);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, /--member: an agent acts as one member/);
    const badExpiry = await runBmoCli(['--data-dir', tmp.dir, 'token', 'issue', '--name', 'x', '--member', 'x', '--expires', 'soon'], tmp.dir);
    assert.is(badExpiry.code, 2);
    assert.match(badExpiry.stderr, /--expires: "soon" is not a duration; say 30m, 12h or 7d/);

    const list = await runBmoCli(['--data-dir', tmp.dir, 'token', 'list', '--json'], tmp.dir);
    assert.is(list.code, 0, list.stderr);
    assert.not.ok(list.stdout.includes(token.slice(-43)), 'the list shows the secret');
    assert.not.match(list.stdout, /sha256/);
    assert.equal(JSON.parse(list.stdout).credentials.map((c: { credential_id: string; state: string; scope: unknown }) => [c.credential_id, c.state, c.scope]), [[id, 'active', { teams: ['docs'], workstreams: [] }]]);

    const bmo = await startTestBmo(tmp.dir);
    try {
      assert.is((await call(bmo, 'GET', '/v1/teams', undefined, { authorization: `Bearer ${token}` })).status, 200);
    } finally {
      await bmo.close();
    }
    const revoked = await runBmoCli(['--data-dir', tmp.dir, 'token', 'revoke', id, '--reason', 'rotated'], tmp.dir);
    assert.is(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked ${id}`));
    const unknown = await runBmoCli(['--data-dir', tmp.dir, 'token', 'revoke', 'nope'], tmp.dir);
    assert.is(unknown.code, 3);
    assert.match(unknown.stderr, /no credential nope; bmo token list shows them/);

    const after = await startTestBmo(tmp.dir);
    try {
      const res = await call(after, 'GET', '/v1/teams', undefined, { authorization: `Bearer ${token}` });
      assert.is(res.status, 401);
      assert.match(res.json.message, /revoked .*rotated/);
    } finally {
      await after.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('a real server session with agent credentials leaves no secret in the data directory or in its output', async () => {
  const tmp = tempDir();
  writeFileSync(join(tmp.dir, 'bmo.toml'), '[options.teams]\nenabled = true\n');
  const server = await spawnServer(tmp.dir, { BMO_LOG_LEVEL: 'debug' });
  try {
    const env = { BMO_URL: server.url, BMO_TOKEN: TOKEN };
    const tokens: string[] = [];
    for (const name of ['ann', 'bob']) {
      const issued = await runBmoCli(['token', 'issue', '--name', name, '--member', name], tmp.dir, env);
      assert.is(issued.code, 0, issued.stderr);
      tokens.push(issued.stdout.split('\n').find((line) => line.startsWith('bmo_'))!);
    }
    const [ann, bob] = tokens;
    const send = (token: string, method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    assert.is((await send(ann, 'POST', '/v1/teams', { id: 'docs', name: 'Docs', lead: { name: 'Ann' } })).status, 201);
    assert.is((await send(bob, 'POST', '/v1/teams/docs/members', { name: 'Bob' })).status, 201);
    assert.is((await send(bob, 'POST', '/v1/teams/docs/messages', { from: 'ann', to: 'ann', body: 'forged' })).status, 403);
    assert.is((await send(`${bob.slice(0, -4)}AAAA`, 'GET', '/v1/teams')).status, 401);
    // As the agent itself, over the CLI: its token in BMO_TOKEN.
    const tail = await runBmoCli(['events', 'tail', '--json'], tmp.dir, { BMO_URL: server.url, BMO_TOKEN: bob });
    assert.is(tail.code, 0, tail.stderr);
    const streams = new Set(tail.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line).stream as string));
    assert.ok(streams.has('teams/docs'), [...streams].join(' '));
    assert.not.ok(streams.has('system/credentials'), 'an agent sees the credentials stream');
    assert.is(await server.stop(), 0);
    const disk = Object.values(diskSnapshot(tmp.dir)).join('\n');
    const output = server.stdout() + server.stderr();
    assert.match(output, /"actor_hash":"[0-9a-f]{8}"/);
    for (const token of tokens) {
      const secret = token.slice(-43);
      assert.not.ok(disk.includes(secret), 'a secret is in the data directory');
      assert.not.ok(output.includes(secret), 'a secret is in the server output');
    }
  } finally {
    await server.stop();
    tmp.cleanup();
  }
});

test.run();
