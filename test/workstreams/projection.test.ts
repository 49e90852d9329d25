import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent, Envelope, EventOf } from '../../events/index.js';
import { cartographyProjection, presentCartography, trailOf } from '../../projections/cartography.js';
import { workstreamsProjection, presentWorkstream } from '../../projections/workstream.js';

const ev = <T extends DomainEvent['type']>(type: T, data: EventOf<T>['data']) => ({ type, data }) as EventOf<T>;

/** Gives each stream's events their seq and the store its pos, in the order listed. */
function place(entries: [string, DomainEvent, string?][]): Envelope[] {
  const seqs = new Map<string, number>();
  return entries.map(([id, event, session], i) => {
    const stream = `workstreams/${id}`;
    const seq = (seqs.get(stream) ?? 0) + 1;
    seqs.set(stream, seq);
    return { ...event, pos: i + 1, stream, seq, id: '', at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), meta: session ? { session_id: session } : {}, crc: '' } as Envelope;
  });
}

const verify = (run_id: string, argv: string[], exit_code: number, truncated = false) =>
  ev('verify_run_recorded', { run_id, argv, cwd: '/w', exit_code, signal: null, duration_ms: 10, output_tail: '', truncated, timed_out: false });

function fold(events: Envelope[]) {
  let state = cartographyProjection.initialState();
  for (const event of events) state = cartographyProjection.evolve(state, event);
  return state;
}

/** Replays stream by stream (as startup does), in the given stream order. */
function byStream(events: Envelope[], order: string[]): Envelope[] {
  return order.flatMap((stream) => events.filter((e) => e.stream === stream));
}

const build = ['pnpm', 'build'];
const log = place([
  ['a', ev('workstream_created', { workstream_id: 'a', label: 'docs/a' }), 's1'],
  ['b', ev('workstream_created', { workstream_id: 'b', label: 'docs/b' }), 's2'],
  ['a', verify('r1', build, 1), 's1'],
  ['b', verify('r2', build, 0, true), 's2'],
  ['a', ev('marker_added', { marker_id: 'm1', path: 'docs/x.md', note: 'flaky' }), 's1'],
  ['b', verify('r3', build, 2, true), 's2'],
  ['b', ev('marker_added', { marker_id: 'm1', path: './docs/x.md', note: 'again' }), 's2'],
  ['a', ev('finding_recorded', { finding_id: 'f1', severity: 'high', path: 'docs/y.md', text: 'broken' }), 's1'],
  ['b', ev('marker_added', { marker_id: 'm2', path: 'docs/y.md', note: 'see finding' }), 's2'],
  ['a', ev('marker_cleared', { marker_id: 'm1' }), 's1'],
  ['a', ev('plan_bound', { path: 'docs/plans/a.md', kind: 'custom' }), 's1'],
]);

test('cartography is the same whatever order the streams are replayed in', () => {
  const inPosOrder = presentCartography(fold(log));
  assert.equal(presentCartography(fold(byStream(log, ['workstreams/a', 'workstreams/b']))), inPosOrder);
  assert.equal(presentCartography(fold(byStream(log, ['workstreams/b', 'workstreams/a']))), inPosOrder);
});

test('workstream rows do not depend on the replay order either', () => {
  const rows = (events: Envelope[]) => {
    let state = workstreamsProjection.initialState();
    for (const event of events) state = workstreamsProjection.evolve(state, event);
    return ['a', 'b'].map((id) => presentWorkstream(state.get(id)!));
  };
  assert.equal(rows(byStream(log, ['workstreams/b', 'workstreams/a'])), rows(log));
});

test('the trail reports a command failing in 2 of its last runs across workstreams and sessions, and repeated truncation', () => {
  const trail = trailOf(fold(log));
  const failing = trail.find((t) => t.kind === 'failing_command');
  assert.ok(failing, JSON.stringify(trail));
  if (failing?.kind !== 'failing_command') return;
  assert.is(failing.command, 'pnpm build');
  assert.is(failing.failed, 2);
  assert.is(failing.of, 3);
  assert.equal(failing.workstreams, ['a', 'b']);
  assert.equal(failing.sessions, ['s1', 's2']);
  const truncated = trail.find((t) => t.kind === 'repeated_truncation');
  assert.ok(truncated && truncated.kind === 'repeated_truncation' && truncated.truncated === 2);
});

test('a path marked twice (however it was typed) and a finding on a marked path are hotspots', () => {
  const hotspots = trailOf(fold(log)).filter((t) => t.kind === 'marker_hotspot');
  assert.equal(hotspots.map((h) => (h.kind === 'marker_hotspot' ? [h.path, h.markers_added, h.findings] : [])).sort(), [
    ['docs/x.md', 2, 0],
    ['docs/y.md', 1, 1],
  ]);
  const c = presentCartography(fold(log));
  assert.equal(c.markers.map((m) => `${m.workstream_id}/${m.marker_id}`), ['b/m1', 'b/m2'], 'a/m1 was cleared');
  assert.is(c.heat.paths.find((p) => p.path === 'docs/x.md')?.markers_open, 1);
});

test('failures that fell out of the last five runs no longer make a trail', () => {
  const entries: [string, DomainEvent][] = [['a', ev('workstream_created', { workstream_id: 'a', label: 'x' })]];
  entries.push(['a', verify('f1', build, 1)], ['a', verify('f2', build, 1)]);
  for (let i = 0; i < 4; i++) entries.push(['a', verify(`p${i}`, build, 0)]);
  const oneLeft = trailOf(fold(place(entries)));
  assert.equal(oneLeft, [], 'only one failure is within the last 5 runs');
  entries.pop();
  const twoLeft = trailOf(fold(place(entries)));
  assert.is(twoLeft.length, 1);
});

test.run();
