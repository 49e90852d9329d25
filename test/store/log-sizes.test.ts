import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { estimateLogs, logSizer } from '../../src/store/log-sizes.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

/** `count` team directories: most with a log of a size of their own, every seventh with none, and names with no directory at all. */
function logs(dir: string, count: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `teams/t${i}`;
    mkdirSync(join(dir, name), { recursive: true });
    if (i % 7 !== 0) writeFileSync(join(dir, name, 'events.jsonl'), 'x'.repeat(i));
    names.push(name);
  }
  return [...names, 'teams/gone-1', 'workstreams/gone-2'];
}

const truth = (dir: string, names: string[]) => new Map(names.map((name) => [name, statSync(join(dir, name, 'events.jsonl'), { throwIfNoEntry: false })?.size ?? -1]));

test('the logs are sized the same whether this thread alone stats them or a second thread shares the work', async () => {
  const tmp = tempDir('bmo-sizes-');
  try {
    const names = logs(tmp.dir, 1500);
    const expected = truth(tmp.dir, names);
    assert.is(expected.get('teams/t7'), -1);
    assert.is(expected.get('teams/t8'), 8);
    const here = logSizer(tmp.dir, 'events.jsonl', 10).start(names).sizes();
    assert.equal([...here], [...expected]);
    // A thread booted, then asked at once (this thread takes what the other has not), or once the thread alone has sized them all.
    for (const waitForTheThread of [false, true]) {
      const sizer = logSizer(tmp.dir, 'events.jsonl', 5000);
      const sizing = sizer.start(names);
      if (waitForTheThread) await until(() => sizing.sized() === names.length, 'the thread to size every log');
      assert.equal([...sizing.sizes()], [...expected], waitForTheThread ? 'sized by the thread' : 'sized by both');
      sizer.stop();
    }
  } finally {
    tmp.cleanup();
  }
});

test('the number of logs is estimated without listing them: many, few, none', () => {
  const tmp = tempDir('bmo-sizes-');
  try {
    assert.is(estimateLogs(tmp.dir, ['teams', 'workstreams']), 0);
    logs(tmp.dir, 3);
    assert.ok(estimateLogs(tmp.dir, ['teams', 'workstreams']) < 1000, 'three logs are few');
    logs(tmp.dir, 1500);
    assert.ok(estimateLogs(tmp.dir, ['teams', 'workstreams']) >= 1000, '1,500 logs are many');
  } finally {
    tmp.cleanup();
  }
});

test.run();
