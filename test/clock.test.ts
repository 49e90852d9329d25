import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock, TestClock } from '../src/clock.js';

test('a TestClock runs the timers due on the way in time order, each at its own due time, and no others', async () => {
  const clock = new TestClock('2026-01-01T00:00:00.000Z');
  const ran: string[] = [];
  const at = () => clock.now().toISOString().slice(17, 23);
  clock.after(250, () => ran.push(`once ${at()}`));
  const tick = clock.every(100, () => ran.push(`tick ${at()}`));
  clock.after(1000, () => ran.push('too late'));
  await clock.advance(300);
  assert.equal(ran, ['tick 00.100', 'tick 00.200', 'once 00.250', 'tick 00.300']);
  assert.is(at(), '00.300');
  tick.cancel();
  await clock.advance(600);
  assert.is(ran.length, 4, 'a cancelled interval runs no more');
  assert.is(clock.pending, 1, 'only the 1000 ms timer waits');
  await clock.advance(100);
  assert.is(ran.at(-1), 'too late');
  assert.is(clock.pending, 0);
});

test('the system clock tells the time and cancels its timers', async () => {
  const before = Date.now();
  assert.ok(Math.abs(systemClock.now().getTime() - before) < 1000);
  let ran = false;
  systemClock.after(1, () => (ran = true)).cancel();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.not.ok(ran);
});

test.run();
