import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent, EventOf } from '../../events/index.js';
import { workstreamEntity } from '../../src/domain/workstreams.js';
import { given } from '../helpers/given.js';

const ev = <T extends DomainEvent['type']>(type: T, data: EventOf<T>['data']) => ({ type, data }) as EventOf<T>;

const created = ev('workstream_created', { workstream_id: 'w1', label: 'docs/book-visual-coverage' });
const planBound = ev('plan_bound', { path: 'docs/plans/book.md', kind: 'custom' });
const naniteStarted = ev('nanite_started', { nanite_id: 'n1', session_id: 'parent-1', prompt: 'summarize gaps', executor: ['agent', '--print'] });
const markerAdded = ev('marker_added', { marker_id: 'm1', path: 'docs/a.md', note: 'risky' });
const run = {
  run_id: 'r1',
  argv: ['pnpm', '--dir', 'docs', 'run', 'build'],
  cwd: '/work',
  exit_code: 0,
  signal: null,
  duration_ms: 1200,
  output_tail: 'built',
  truncated: false,
  timed_out: false,
};

test('creating a workstream emits workstream_created with its label', () => {
  given(workstreamEntity, 'w1', []).when({ type: 'create_workstream', label: 'docs/book-visual-coverage' }).then([created]);
});

test('creating a workstream that exists is refused as a conflict', () => {
  given(workstreamEntity, 'w1', [created]).when({ type: 'create_workstream', label: 'again' }).thenRefuses('conflict', /already exists/);
});

test('any command on a workstream never created is not_found', () => {
  given(workstreamEntity, 'ghost', []).when({ type: 'bind_plan', path: 'p.md', kind: 'custom' }).thenRefuses('not_found', /no workstream ghost/);
});

test('binding a plan emits plan_bound; binding the same plan again is a conflict, another one is not', () => {
  given(workstreamEntity, 'w1', [created]).when({ type: 'bind_plan', path: 'docs/plans/book.md', kind: 'custom' }).then([planBound]);
  given(workstreamEntity, 'w1', [created, planBound]).when({ type: 'bind_plan', path: 'docs/plans/book.md', kind: 'custom' }).thenRefuses('conflict', /already bound/);
  given(workstreamEntity, 'w1', [created, planBound])
    .when({ type: 'bind_plan', path: 'recipes/review.toml', kind: 'recipe' })
    .then([ev('plan_bound', { path: 'recipes/review.toml', kind: 'recipe' })]);
});

test('a team boundary needs a team id, and only a team boundary takes one', () => {
  given(workstreamEntity, 'w1', [created]).when({ type: 'declare_boundary', boundary: 'team' }).thenRefuses('invalid_body', /team_id/);
  given(workstreamEntity, 'w1', [created]).when({ type: 'declare_boundary', boundary: 'nanite', team_id: 't1' }).thenRefuses('invalid_body', /team_id/);
  given(workstreamEntity, 'w1', [created])
    .when({ type: 'declare_boundary', boundary: 'team', team_id: 't1' })
    .then([ev('boundary_declared', { boundary: 'team', team_id: 't1', note: undefined })]);
});

test('a verify run is recorded as it was run, and the same run id twice is a conflict', () => {
  given(workstreamEntity, 'w1', [created]).when({ type: 'record_verify_run', ...run }).then([ev('verify_run_recorded', run)]);
  given(workstreamEntity, 'w1', [created, ev('verify_run_recorded', run)]).when({ type: 'record_verify_run', ...run }).thenRefuses('conflict', /already recorded/);
});

test('a nanite completes once, carrying the parent session it started with', () => {
  const completion = { nanite_id: 'n1', outcome: 'completed' as const, handoff: 'no gaps', exit_code: 0, duration_ms: 50, truncated: false };
  given(workstreamEntity, 'w1', [created, naniteStarted])
    .when({ type: 'complete_nanite', ...completion })
    .then([ev('nanite_completed', { ...completion, session_id: 'parent-1' })]);
  given(workstreamEntity, 'w1', [created]).when({ type: 'complete_nanite', ...completion }).thenRefuses('not_found', /no nanite n1/);
  given(workstreamEntity, 'w1', [created, naniteStarted, ev('nanite_completed', { ...completion, session_id: 'parent-1' })])
    .when({ type: 'complete_nanite', ...completion, outcome: 'failed' })
    .thenRefuses('conflict', /already ended \(completed\)/);
  given(workstreamEntity, 'w1', [created, naniteStarted])
    .when({ type: 'start_nanite', nanite_id: 'n1', session_id: 'p', prompt: 'x', executor: ['a'] })
    .thenRefuses('conflict', /already started/);
});

test('a marker is cleared once; clearing an unknown marker is not_found', () => {
  given(workstreamEntity, 'w1', [created, markerAdded]).when({ type: 'clear_marker', marker_id: 'm1', reason: 'fixed' }).then([ev('marker_cleared', { marker_id: 'm1', reason: 'fixed' })]);
  given(workstreamEntity, 'w1', [created, markerAdded, ev('marker_cleared', { marker_id: 'm1' })]).when({ type: 'clear_marker', marker_id: 'm1' }).thenRefuses('conflict', /already cleared/);
  given(workstreamEntity, 'w1', [created]).when({ type: 'clear_marker', marker_id: 'm9' }).thenRefuses('not_found', /no marker m9/);
  given(workstreamEntity, 'w1', [created, markerAdded]).when({ type: 'add_marker', marker_id: 'm1', path: 'x', note: 'y' }).thenRefuses('conflict', /already exists/);
});

test('a status change is recorded; the same status again is a conflict', () => {
  given(workstreamEntity, 'w1', [created]).when({ type: 'change_status', status: 'blocked', reason: 'waiting on review' }).then([ev('status_changed', { status: 'blocked', reason: 'waiting on review' })]);
  given(workstreamEntity, 'w1', [created]).when({ type: 'change_status', status: 'active' }).thenRefuses('conflict', /already active/);
});

test('evidence recorded after the workstream completed is still accepted, so a late result is not lost', () => {
  given(workstreamEntity, 'w1', [created, ev('status_changed', { status: 'completed' })])
    .when({ type: 'record_finding', finding_id: 'f1', severity: 'low', text: 'late note' })
    .then((events) => assert.equal(events.map((e) => e.type), ['finding_recorded']));
});

test.run();
