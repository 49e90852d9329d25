import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { call, ok, startTestBmo, TOKEN, withBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';
import { storeState } from '../http/support.js';

const run = (overrides: Record<string, unknown> = {}) => ({
  argv: ['node', '-e', 'process.exit(0)'],
  cwd: '/work',
  exit_code: 0,
  signal: null,
  duration_ms: 12,
  output_tail: 'ok\n',
  truncated: false,
  timed_out: false,
  ...overrides,
});

test('bad input is refused with a message naming the field, and writes nothing', () =>
  withBmo(async (bmo, dir) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w1', label: 'docs/book-visual-coverage' });
    const before = storeState(bmo, dir, ['workstreams/w1']);
    const refusals: [string, string, unknown, number, string][] = [
      ['PUT', '/v1/workstreams/w1/plan', { path: 'docs/plan.md', kind: 'novel' }, 400, 'kind'],
      ['PUT', '/v1/workstreams/w1/status', { status: 'done' }, 400, 'status'],
      ['POST', '/v1/workstreams/w1/findings', { severity: 'high', path: 'docs/a\u0000b.md', text: 'x' }, 400, 'path'],
      ['POST', '/v1/workstreams/w1/markers', { path: 'docs/\u0000', note: 'n' }, 400, 'path'],
      ['PUT', '/v1/workstreams/w1/plan', { path: 'a\u0000b', kind: 'custom' }, 400, 'path'],
      ['POST', '/v1/workstreams', { label: 'x'.repeat(10_000) }, 400, 'label'],
      ['POST', '/v1/workstreams', { label: 'two\nlines' }, 400, 'label'],
      ['POST', '/v1/workstreams', { id: 'Bad Id!', label: 'ok' }, 400, 'id'],
      ['PUT', '/v1/workstreams/Bad_Id/plan', { path: 'p.md', kind: 'custom' }, 400, 'id'],
      ['GET', '/v1/workstreams/NOT-AN-ID/status', undefined, 400, 'id'],
      ['PUT', '/v1/workstreams/w1/boundary', { boundary: 'team' }, 400, 'team_id'],
      ['PUT', '/v1/workstreams/w1/boundary', { boundary: 'everyone' }, 400, 'boundary'],
      ['POST', '/v1/workstreams/w1/verify-runs', run({ argv: [] }), 400, 'argv'],
      ['POST', '/v1/workstreams/w1/verify-runs', run({ output_tail: 'x'.repeat(70_000) }), 400, 'output_tail'],
      ['POST', '/v1/workstreams/w1/verify-runs', run({ extra: 1 }), 400, '(body)'],
      ['POST', '/v1/workstreams/w1/nanites', { session_id: 'S!', prompt: 'p', executor: ['a'] }, 400, 'session_id'],
      ['PUT', '/v1/workstreams/nope/plan', { path: 'p.md', kind: 'custom' }, 404, 'id'],
      ['POST', '/v1/workstreams/w1/nanites/n9/complete', { outcome: 'completed', handoff: '', exit_code: 0, duration_ms: 1 }, 404, 'nanite_id'],
      ['POST', '/v1/workstreams/w1/markers/m9/clear', {}, 404, 'marker_id'],
    ];
    for (const [method, url, body, status, field] of refusals) {
      const res = await call(bmo, method, url, body);
      assert.is(res.status, status, `${method} ${url} → ${res.status} ${res.body}`);
      assert.is(res.json.field, field, `${method} ${url}: ${res.body}`);
      if (status === 400) assert.ok(res.json.message.includes(field === '(body)' ? 'extra' : field), `the message names ${field}: ${res.json.message}`);
    }
    assert.equal(storeState(bmo, dir, ['workstreams/w1']), before);
  }));

test('a retried create with the same Idempotency-Key answers with the first id and appends nothing', () =>
  withBmo(async (bmo) => {
    const first = await ok(bmo, 201, 'POST', '/v1/workstreams', { label: 'once' }, { 'idempotency-key': 'k1' });
    const head = bmo.pipeline.store.head();
    const again = await ok(bmo, 201, 'POST', '/v1/workstreams', { label: 'once' }, { 'idempotency-key': 'k1' });
    assert.is(again.json.workstream_id, first.json.workstream_id);
    assert.is(bmo.pipeline.store.head(), head);
    const list = await ok(bmo, 200, 'GET', '/v1/workstreams');
    assert.is(list.json.workstreams.length, 1);
  }));

test('the events of a workstream read as JSON and NDJSON, the handoff as JSON and markdown', () =>
  withBmo(async (bmo) => {
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w1', label: 'docs/x' });
    await ok(bmo, 200, 'POST', '/v1/workstreams/w1/plan', { path: 'docs/plan.md', kind: 'staged' });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w1/verify-runs', run({ run_id: 'r1', exit_code: 1 }));
    const json = await ok(bmo, 200, 'GET', '/v1/workstreams/w1/events?from_seq=2');
    assert.equal(json.json.events.map((e: { type: string }) => e.type), ['plan_bound', 'verify_run_recorded']);
    const nd = await ok(bmo, 200, 'GET', '/v1/workstreams/w1/events', undefined, { accept: 'application/x-ndjson' });
    assert.match(String(nd.headers['content-type']), /application\/x-ndjson/);
    assert.equal(nd.body.trim().split('\n').map((line) => JSON.parse(line).seq), [1, 2, 3]);
    await ok(bmo, 404, 'GET', '/v1/workstreams/none/events');

    const md = await ok(bmo, 200, 'GET', '/v1/workstreams/w1/handoff', undefined, { accept: 'text/markdown' });
    assert.match(String(md.headers['content-type']), /text\/markdown/);
    assert.match(md.body, /^# Handoff: docs\/x/);
    assert.match(md.body, /staged `docs\/plan.md`/);
    assert.match(md.body, /\*\*failed\*\* \(exit 1\)/);
    assert.is((await ok(bmo, 200, 'GET', '/v1/workstreams/w1/handoff?format=md')).body, md.body);
    const handoff = (await ok(bmo, 200, 'GET', '/v1/workstreams/w1/handoff')).json;
    assert.is(handoff.plan.kind, 'staged');
    assert.is(handoff.verification.rows[0].passed, false);
    assert.ok(handoff.next.rows.some((n: string) => n.includes("fix and re-run: bmo workstream verify-run w1 --again")), handoff.next.rows.join('\n'));

    const run1 = (await ok(bmo, 200, 'GET', '/v1/workstreams/w1/verify-runs/r1')).json;
    assert.is(run1.output_tail, 'ok\n');
    const status = (await ok(bmo, 200, 'GET', '/v1/workstreams/w1/status')).json;
    assert.is(status.drill_in.verify_runs.route, '/v1/workstreams/w1/verify-runs');
    assert.is(status.last_verify.output_tail, undefined, 'the status stays bounded: no output tails');
  }));

test('workstreams are served when teams are disabled', () =>
  withBmo(
    async (bmo) => {
      await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w1', label: 'no teams here' });
      await ok(bmo, 200, 'GET', '/v1/workstreams/w1/status');
      await ok(bmo, 200, 'GET', '/v1/cartography');
      const teams = await call(bmo, 'GET', '/v1/teams');
      assert.is(teams.status, 404);
    },
    { overrides: { options: { teams: { enabled: false } } } },
  ));

test('every workstream event goes out on the WebSocket stream, in pos order', async () => {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, { listen: true });
  try {
    const frames: { pos: number; stream: string; type: string }[] = [];
    const ws = new WebSocket(`${bmo.url!.replace(/^http/, 'ws')}/v1/stream?from=0&filter=workstreams/*`, { headers: { authorization: `Bearer ${TOKEN}` } });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (!frame.op) frames.push(frame);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await ok(bmo, 201, 'POST', '/v1/workstreams', { id: 'w1', label: 'streamed' });
    await ok(bmo, 200, 'PUT', '/v1/workstreams/w1/plan', { path: 'p.md', kind: 'custom' });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w1/verify-runs', run());
    const nanite = await ok(bmo, 201, 'POST', '/v1/workstreams/w1/nanites', { session_id: 's1', prompt: 'look', executor: ['agent'] });
    await ok(bmo, 200, 'POST', `/v1/workstreams/w1/nanites/${nanite.json.nanite_id}/complete`, { outcome: 'completed', handoff: 'done', exit_code: 0, duration_ms: 5 });
    const marker = await ok(bmo, 201, 'POST', '/v1/workstreams/w1/markers', { path: 'a.md', note: 'n' });
    await ok(bmo, 200, 'DELETE', `/v1/workstreams/w1/markers/${marker.json.marker_id}`);
    await ok(bmo, 201, 'POST', '/v1/workstreams/w1/findings', { severity: 'low', text: 't' });
    await ok(bmo, 201, 'POST', '/v1/workstreams/w1/artifacts', { ref: 'out/report.html', kind: 'report' });
    await ok(bmo, 200, 'PUT', '/v1/workstreams/w1/boundary', { boundary: 'nanite' });
    await ok(bmo, 200, 'PUT', '/v1/workstreams/w1/status', { status: 'completed' });
    const expected = [
      'workstream_created',
      'plan_bound',
      'verify_run_recorded',
      'nanite_started',
      'nanite_completed',
      'marker_added',
      'marker_cleared',
      'finding_recorded',
      'artifact_attached',
      'boundary_declared',
      'status_changed',
    ];
    const deadline = Date.now() + 5000;
    while (frames.length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(frames.map((f) => f.type), expected);
    assert.ok(frames.every((f, i) => f.stream === 'workstreams/w1' && (i === 0 || f.pos > frames[i - 1].pos)));
    ws.close();
  } finally {
    await bmo.close();
    tmp.cleanup();
  }
});

test.run();
