import { test } from 'uvu';
import * as assert from 'uvu/assert';

// The page's own module, as the browser loads it (it touches the DOM only when called).
const { whenTeamsMove } = (await import(new URL('../../../web/js/dom.js', import.meta.url).href)) as { whenTeamsMove: (fn: () => void) => (posture: object) => void };

test('a view reads its teams again when the posture\'s teams move, not when only the remote\'s health does', () => {
  let reads = 0;
  const onPosture = whenTeamsMove(() => reads++);
  const teams = [{ team_id: 'docs', lead: 'alive', member_liveness: { working: 1, gone: 0 } }];
  onPosture({ teams, remote: { consecutive_failures: 0 } });
  assert.is(reads, 0, 'the first posture: the view has just loaded');
  // A read the remote failed moves its health: reading again would fail again, and go round.
  onPosture({ teams, remote: { consecutive_failures: 1 } });
  onPosture({ teams, remote: { consecutive_failures: 2, degraded: false } });
  assert.is(reads, 0);
  onPosture({ teams: [{ ...teams[0], lead: 'gone' }], remote: { consecutive_failures: 2 } });
  assert.is(reads, 1, 'liveness moved with the clock');
});

const { claimRows } = (await import(new URL('../../../web/js/views/timeline.js', import.meta.url).href)) as {
  claimRows: (claims: object[], until: string) => { claim: { fencing_token: number }; row: number }[];
};

test('a lane draws claims that overlap in time one above the other, and the others on one row', () => {
  const claim = (token: number, from: number, to?: number) => ({ fencing_token: token, claimed_at: `2026-01-01T10:00:${String(from).padStart(2, '0')}Z`, ended_at: to === undefined ? undefined : `2026-01-01T10:00:${String(to).padStart(2, '0')}Z` });
  const rows = claimRows([claim(1, 10, 13), claim(2, 11, 13), claim(3, 14, 20), claim(4, 15)], '2026-01-01T10:00:30Z');
  assert.equal(rows.map((r) => [r.claim.fencing_token, r.row]), [[1, 0], [2, 1], [3, 0], [4, 1]]);
});

const { typeOf } = (await import(new URL('../../../web/js/views/team.js', import.meta.url).href)) as { typeOf: (event: object) => string };

test('the page says a lease renewed is a renewal, in the team log and the tail', () => {
  assert.is(typeOf({ type: 'task_claimed', data: { task_id: 't1' } }), 'task_claimed');
  assert.is(typeOf({ type: 'task_claimed', data: { task_id: 't1', renewal: true } }), 'task_claimed (renewal)');
  assert.is(typeOf({ type: 'message_sent', data: {} }), 'message_sent');
});

test.run();
