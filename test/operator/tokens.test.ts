import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call, runBmoCli, startTestBmo } from '../helpers/bmo.js';
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

test.run();
