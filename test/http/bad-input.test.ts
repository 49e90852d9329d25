import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { ERROR_CODES } from '../../src/errors.js';
import { call, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { storeState } from './support.js';

const BODY_LIMIT = 1024;
const LONG = 'a'.repeat(500);
const STREAMS = ['teams/alpha', 'teams/new-team', 'teams/x'];

const badInput = suite<{ bmo: Bmo; dir: string; cleanup: () => void }>('bad input', {} as never);

badInput.before(async (ctx) => {
  const tmp = tempDir();
  ctx.dir = tmp.dir;
  ctx.cleanup = tmp.cleanup;
  ctx.bmo = await startTestBmo(tmp.dir, { overrides: { server: { body_limit: BODY_LIMIT } } });
  const setup: [string, string, unknown][] = [
    ['POST', '/v1/teams', { id: 'alpha', name: 'Alpha', lead: { member_id: 'lead', name: 'Lead' } }],
    ['POST', '/v1/teams/alpha/members', { member_id: 'ann', name: 'Ann' }],
    ['POST', '/v1/teams/alpha/tasks', { task_id: 't1', title: 'first' }],
    ['POST', '/v1/teams/alpha/messages', { message_id: 'm1', from: 'lead', to: 'ann', body: 'hi' }],
  ];
  for (const [method, url, body] of setup) {
    const res = await call(ctx.bmo, method, url, body);
    assert.ok(res.status < 300, `${method} ${url}: ${res.body}`);
  }
});

badInput.after(async (ctx) => {
  await ctx.bmo.close();
  ctx.cleanup();
});

interface BadCase {
  name: string;
  method: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  error: string;
  message: RegExp;
}

/**
 * Each request is refused with its status, a JSON `{error, message}` from the catalogue whose
 * message names the problem, and leaves the store's head, versions and files exactly as they were.
 */
function refuses(c: BadCase) {
  badInput(`${c.name} is a ${c.status} naming the problem and writes nothing`, async ({ bmo, dir }) => {
    const before = storeState(bmo, dir, STREAMS);
    const res = await call(bmo, c.method, c.url, c.body, c.headers);
    assert.is(res.status, c.status, res.body);
    assert.ok(res.json, `the answer is JSON: ${res.body.slice(0, 200)}`);
    assert.is(res.json.error, c.error, res.body);
    assert.ok(c.error in ERROR_CODES, 'the error is a catalogue code');
    assert.is(typeof res.json.message, 'string');
    assert.match(res.json.message, c.message);
    assert.ok(res.json.message.length < 400, 'the message does not echo a huge input back');
    assert.equal(storeState(bmo, dir, STREAMS), before);
  });
}

const team = (extra: Record<string, unknown> = {}) => ({ name: 'New', lead: { name: 'Lead' }, ...extra });

refuses({ name: 'a malformed JSON body', method: 'POST', url: '/v1/teams', body: '{"name": "x", ', status: 400, error: 'invalid_body', message: /not valid JSON/ });
refuses({ name: 'an empty JSON body', method: 'POST', url: '/v1/teams/alpha/tasks', body: '', status: 400, error: 'invalid_body', message: /^the body is empty; send a JSON object \(title: / });
refuses({
  name: 'a form-encoded body',
  method: 'POST',
  url: '/v1/teams/alpha/tasks',
  body: 'title=x',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  status: 415,
  error: 'unsupported_media_type',
  message: /JSON/,
});
refuses({
  name: 'a text/plain body',
  method: 'POST',
  url: '/v1/teams/alpha/tasks',
  body: '{"title":"x"}',
  headers: { 'content-type': 'text/plain' },
  status: 415,
  error: 'unsupported_media_type',
  message: /send the body as JSON \(Content-Type: application\/json\)/,
});
refuses({ name: 'a name of the wrong type (42)', method: 'POST', url: '/v1/teams', body: team({ name: 42 }), status: 400, error: 'invalid_body', message: /^name: .*expected string/ });
refuses({ name: 'a fencing token of the wrong type', method: 'POST', url: '/v1/teams/alpha/tasks/t1/complete', body: { member_id: 'ann', fencing_token: '1' }, status: 400, error: 'invalid_body', message: /fencing_token/ });
refuses({ name: 'an unknown field', method: 'POST', url: '/v1/teams', body: team({ colour: 'red' }), status: 400, error: 'invalid_body', message: /unknown field.*"colour"/ });
refuses({ name: 'an unknown nested field', method: 'POST', url: '/v1/teams', body: team({ lead: { name: 'L', age: 3 } }), status: 400, error: 'invalid_body', message: /lead.*unknown field.*"age"/ });
refuses({ name: 'a missing required field (name)', method: 'POST', url: '/v1/teams', body: { lead: { name: 'L' } }, status: 400, error: 'invalid_body', message: /^name: / });
refuses({ name: 'a missing required field (title)', method: 'POST', url: '/v1/teams/alpha/tasks', body: {}, status: 400, error: 'invalid_body', message: /^title: / });
refuses({ name: 'a blank name', method: 'POST', url: '/v1/teams', body: team({ name: '   ' }), status: 400, error: 'invalid_body', message: /name: must not be empty/ });
refuses({ name: 'a name over its length', method: 'POST', url: '/v1/teams', body: team({ name: 'x'.repeat(201) }), status: 400, error: 'invalid_body', message: /name: must be at most 200/ });
refuses({ name: 'a reserved team id', method: 'POST', url: '/v1/teams', body: team({ id: 'posture' }), status: 400, error: 'invalid_body', message: /id: .*reserved/ });
for (const [url, field, wanted] of [
  ['/v1/teams/alpha/events?from_seq=abc', 'from_seq', 'of 1 or more'],
  ['/v1/teams/alpha/events?from_seq=0x10', 'from_seq', 'of 1 or more'],
  ['/v1/teams/alpha/events?from_seq=0', 'from_seq', 'of 1 or more'],
  ['/v1/teams/events/recent?limit=1e1', 'limit', 'from 1 to 256'],
  ['/v1/teams/events/recent?limit=', 'limit', 'from 1 to 256'],
] as const) {
  refuses({ name: `a query number ${url.split('?')[1]}`, method: 'GET', url, status: 400, error: 'bad_request', message: new RegExp(`^query\\.${field}: must be a whole number ${wanted}$`) });
}
refuses({ name: 'a task named twice in blocked_by', method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x', blocked_by: ['t1', 't1'] }, status: 400, error: 'invalid_body', message: /^blocked_by: names a task more than once/ });

for (const [what, bad] of [
  ['"../"', '../etc'],
  ['"/"', 'a/b'],
  ['uppercase', 'Alpha'],
  ['500 characters', LONG],
] as const) {
  refuses({ name: `a team id in the body holding ${what}`, method: 'POST', url: '/v1/teams', body: team({ id: bad }), status: 400, error: 'invalid_body', message: /^id: must be 1-64 characters/ });
  refuses({ name: `a task id in the body holding ${what}`, method: 'POST', url: '/v1/teams/alpha/tasks', body: { task_id: bad, title: 'x' }, status: 400, error: 'invalid_body', message: /^task_id: / });
  refuses({ name: `a member id in the body holding ${what}`, method: 'POST', url: '/v1/teams/alpha/members', body: { member_id: bad, name: 'x' }, status: 400, error: 'invalid_body', message: /^member_id: / });
  refuses({ name: `a blocked_by id holding ${what}`, method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x', blocked_by: ['t1', bad] }, status: 400, error: 'invalid_body', message: /^blocked_by\[1\]: / });
  refuses({ name: `a recipient holding ${what}`, method: 'POST', url: '/v1/teams/alpha/messages', body: { from: 'lead', to: bad, body: 'x' }, status: 400, error: 'invalid_body', message: /^to: / });
}

for (const [what, segment] of [
  ['"../" (URL-encoded)', '..%2F..%2Fetc'],
  ['"/" (URL-encoded %2F)', 'a%2Fb'],
  ['uppercase', 'Alpha'],
  ['500 characters', LONG],
] as const) {
  refuses({ name: `a team id in the path holding ${what}`, method: 'GET', url: `/v1/teams/${segment}`, status: 400, error: 'invalid_id', message: /id/ });
  refuses({ name: `a team id in the path of a write holding ${what}`, method: 'POST', url: `/v1/teams/${segment}/tasks`, body: { title: 'x' }, status: 400, error: 'invalid_id', message: /id/ });
  refuses({ name: `a task id in the path holding ${what}`, method: 'POST', url: `/v1/teams/alpha/tasks/${segment}/claim`, body: { member_id: 'ann' }, status: 400, error: 'invalid_id', message: /task|id/ });
  refuses({ name: `a member id in the path holding ${what}`, method: 'DELETE', url: `/v1/teams/alpha/members/${segment}`, status: 400, error: 'invalid_id', message: /member|id/ });
}
refuses({ name: 'a path with a bad %-escape', method: 'GET', url: '/v1/teams/%zz', status: 400, error: 'bad_request', message: /URL is not valid/ });
refuses({ name: 'a team id in the path holding "../" (plain, URL-encoded dots)', method: 'GET', url: '/v1/teams/%2E%2E%2Falpha/events', status: 400, error: 'invalid_id', message: /^id: / });

refuses({
  name: 'a body over the limit',
  method: 'POST',
  url: '/v1/teams/alpha/tasks',
  body: { title: 'big', description: 'x'.repeat(BODY_LIMIT) },
  status: 413,
  error: 'payload_too_large',
  message: /body_limit/,
});
refuses({ name: 'a request without a token', method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x' }, headers: { authorization: '' }, status: 401, error: 'unauthorized', message: /missing bearer token/ });
refuses({ name: 'a request with a wrong token', method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x' }, headers: { authorization: 'Bearer not-the-token' }, status: 401, error: 'unauthorized', message: /wrong bearer token/ });
refuses({ name: 'a read without a token', method: 'GET', url: '/v1/teams', headers: { authorization: '' }, status: 401, error: 'unauthorized', message: /missing bearer token/ });
refuses({ name: 'a non-bearer Authorization header', method: 'GET', url: '/v1/teams/alpha', headers: { authorization: 'Basic dXNlcjpwYXNz' }, status: 401, error: 'unauthorized', message: /bearer token/ });
refuses({ name: 'an If-Match that is not a version', method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x' }, headers: { 'if-match': 'yesterday' }, status: 400, error: 'bad_request', message: /If-Match/ });
refuses({ name: 'an empty Idempotency-Key', method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x' }, headers: { 'idempotency-key': '' }, status: 400, error: 'bad_request', message: /Idempotency-Key/ });
refuses({ name: 'an X-Session-Id that is not an id', method: 'POST', url: '/v1/teams/alpha/tasks', body: { title: 'x' }, headers: { 'x-session-id': '../s' }, status: 400, error: 'invalid_id', message: /X-Session-Id/ });
for (const limit of ['0', '257', 'abc', '-1', '1.5']) {
  refuses({ name: `limit=${limit} on /v1/teams/events/recent`, method: 'GET', url: `/v1/teams/events/recent?limit=${limit}`, status: 400, error: 'bad_request', message: /^query\.limit: / });
}
refuses({ name: 'an unknown query parameter', method: 'GET', url: '/v1/teams/alpha/tasks?readdy=true', status: 400, error: 'bad_request', message: /unknown field.*"readdy"/ });
refuses({ name: 'a lease under a second', method: 'POST', url: '/v1/teams/alpha/tasks/t1/claim', body: { member_id: 'ann', lease_ms: 10 }, status: 400, error: 'invalid_body', message: /^lease_ms: must be at least 1000/ });
refuses({ name: 'a recipient list instead of one recipient', method: 'POST', url: '/v1/teams/alpha/messages', body: { from: 'lead', to: ['ann'], body: 'x' }, status: 400, error: 'invalid_body', message: /^to: / });

badInput('the bounds of /v1/teams/events/recent (1 and 256) are accepted', async ({ bmo }) => {
  for (const limit of [1, 256]) {
    const res = await call(bmo, 'GET', `/v1/teams/events/recent?limit=${limit}`);
    assert.is(res.status, 200, res.body);
    assert.is(res.json.events.length, Math.min(limit, 5));
  }
});

badInput.run();
