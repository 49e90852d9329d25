import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventLine } from '../../src/cli/format.js';

test('a lease renewed reads as a renewal in bmo events tail, not as a second claim', () => {
  const claim = { pos: 7, at: '2026-01-01T10:00:00.000Z', stream: 'teams/docs', seq: 5, type: 'task_claimed', data: { task_id: 't1', fencing_token: 1 } };
  assert.is(eventLine(claim), '       7  2026-01-01T10:00:00.000Z  teams/docs#5  task_claimed');
  assert.is(eventLine({ ...claim, pos: 9, seq: 6, data: { ...claim.data, renewal: true } }), '       9  2026-01-01T10:00:00.000Z  teams/docs#6  task_claimed (renewal)');
});

test.run();
