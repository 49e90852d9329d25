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

test.run();
