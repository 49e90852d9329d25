import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseEvent } from '../events/index.js';

test('the catalogue refuses an unknown field and names it', () => {
  const result = parseEvent({ type: 'team_removed', data: { reason: 'delete', extra: 1 } });
  assert.is(result.ok, false);
  if (!result.ok) assert.match(result.message, /extra/);
});

test.run();
