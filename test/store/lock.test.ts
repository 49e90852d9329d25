import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../helpers/tmp.js';

const CONTENDER = new URL('../fixtures/lock-contender.js', import.meta.url).pathname;

// Five concurrent CLI commands with no server once lost a finding: one read another's LOCK in the
// instant between its creation and its owner line, took the empty file for a half-written one left
// by a dead process, and took it over. Both wrote to the log. A LOCK now appears with its line.
test('processes racing for one data directory never hold its LOCK at the same time', async () => {
  const { dir, cleanup } = tempDir('bmo-lock-');
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const contenders = Array.from({ length: 6 }, () => spawn(process.execPath, [CONTENDER, dataDir, '60'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const said = contenders.map((child) => {
      let out = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      return once(child, 'close').then(([code]) => ({ code, out: out.trim() }));
    });
    const results = await Promise.all(said);
    assert.equal(results, contenders.map(() => ({ code: 0, out: 'took 60' })));
  } finally {
    cleanup();
  }
});

test.run();
