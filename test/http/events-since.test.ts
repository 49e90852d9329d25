import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { call } from '../helpers/bmo.js';
import { createTeam, ok, withBmo } from './support.js';

test('GET /v1/events pages the log after a position, filtered by stream, and says where to resume', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha');
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'ws-1', label: 'one' });
    await createTeam(bmo, 'beta');
    const all = await ok(bmo, 200, 'GET', '/v1/events?from_pos=0&limit=2');
    assert.equal(all.json.events.map((e: { pos: number }) => e.pos), [1, 2]);
    assert.is(all.json.next, 2);
    const rest = await ok(bmo, 200, 'GET', `/v1/events?from_pos=${all.json.next}&filter=teams/beta`);
    assert.ok(rest.json.events.length > 0);
    assert.ok(rest.json.events.every((e: { stream: string }) => e.stream === 'teams/beta'));
    assert.is(rest.json.head, bmo.pipeline.store.head());
  }),
);

test('GET /v1/events refuses a bad position, limit or filter, naming it', () =>
  withBmo(async (bmo) => {
    for (const [query, field] of [
      ['from_pos=-1', 'from_pos'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['filter=teams', 'filter'],
    ]) {
      const answer = await call(bmo, 'GET', `/v1/events?${query}`);
      assert.is(answer.status, 400, query);
      assert.is(answer.json.field, `query.${field}`, query);
    }
    // Past the head, next could never reach head: refused, not answered with an empty page forever.
    const head = bmo.pipeline.store.head();
    assert.is((await call(bmo, 'GET', `/v1/events?from_pos=${head}`)).status, 200, 'the head itself: nothing yet');
    const beyond = await call(bmo, 'GET', `/v1/events?from_pos=${head + 1}`);
    assert.equal([beyond.status, beyond.json.error, beyond.json.field], [400, 'bad_request', 'query.from_pos']);
    assert.match(beyond.json.message, `beyond the head of the log (${head}); ask for ${head} or less`);
  }),
);

test('a query flag takes true or false and nothing else', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha');
    assert.is((await call(bmo, 'GET', '/v1/teams/alpha/tasks?ready=true')).status, 200);
    const bad = await call(bmo, 'GET', '/v1/teams/alpha/tasks?ready=yes');
    assert.is(bad.status, 400);
    assert.is(bad.json.field, 'query.ready');
    assert.match(bad.json.message, /true or false/);
  }),
);

test('GET /v1/events shows an agent credential its own teams only', () =>
  withBmo(async (bmo) => {
    await createTeam(bmo, 'alpha', ['ann']);
    await createTeam(bmo, 'beta');
    const issued = await ok(bmo, 201, 'POST', '/v1/credentials', { name: 'ann', role: 'agent', member_id: 'ann', teams: ['alpha'] });
    const page = await ok(bmo, 200, 'GET', '/v1/events?from_pos=0&limit=1000', undefined, { authorization: `Bearer ${issued.json.token}` });
    const streams = new Set(page.json.events.map((e: { stream: string }) => e.stream));
    assert.ok(streams.has('teams/alpha'));
    assert.not.ok(streams.has('teams/beta'));
    assert.not.ok(streams.has('system/credentials'));
  }),
);

test.run();
