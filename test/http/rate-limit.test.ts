import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestClock } from '../../src/clock.js';
import { call, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

test('a credential past its budget gets 429 with Retry-After and writes nothing; others are not counted with it; the next window lets it in again', async () => {
  const tmp = tempDir();
  const clock = new TestClock('2026-03-01T00:00:00Z');
  const bmo = await startTestBmo(tmp.dir, { clock, overrides: { limits: { max_requests: 3, window_ms: 10_000 } } });
  try {
    const issue = async (name: string) => (await call(bmo, 'POST', '/v1/credentials', { name, role: 'agent', member_id: name })).json.token as string;
    const ann = { authorization: `Bearer ${await issue('ann')}` };
    const bob = { authorization: `Bearer ${await issue('bob')}` };
    for (let i = 0; i < 3; i++) assert.is((await call(bmo, 'GET', '/v1/teams', undefined, ann)).status, 200);
    await clock.advance(4_000);
    const head = bmo.pipeline.store.head();
    const limited = await call(bmo, 'POST', '/v1/teams', { name: 'Ann', lead: { name: 'Ann' } }, ann);
    assert.is(limited.status, 429, limited.body);
    assert.is(limited.json.error, 'rate_limited');
    assert.match(limited.json.message, /more than 3 requests in 10 s \(\[limits\] in bmo.toml\); retry after 6 seconds/);
    assert.is(limited.headers['retry-after'], '6');
    assert.is(bmo.pipeline.store.head(), head, 'a refused request wrote nothing');
    // Another credential has a budget of its own; the admin token is not counted.
    assert.is((await call(bmo, 'GET', '/v1/teams', undefined, bob)).status, 200);
    for (let i = 0; i < 10; i++) assert.is((await call(bmo, 'GET', '/v1/teams')).status, 200);
    await clock.advance(6_000);
    assert.is((await call(bmo, 'POST', '/v1/teams', { name: 'Ann', lead: { name: 'Ann' } }, ann)).status, 201);
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test('with exempt_admin = false the admin token is counted too', async () => {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, { overrides: { limits: { max_requests: 2, window_ms: 60_000, exempt_admin: false } } });
  try {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(bmo, 'GET', '/v1/teams')).status);
    assert.equal(statuses, [200, 200, 429]);
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test.run();
