import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../../src/cli/shell.js';
import { runBmoCli, spawnServer } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

test('bmo serve on a port already taken says which and what to do, exits 78 and leaves no LOCK behind', async () => {
  const { dir, cleanup } = tempDir('bmo-serve-');
  const squatter = createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const { port } = squatter.address() as AddressInfo;
  try {
    const result = await runBmoCli(['serve', '--port', String(port), '--data-dir', join(dir, 'data')], dir, { BMO_LOG_LEVEL: 'warn' });
    assert.is(result.code, EXIT.config, result.stderr);
    assert.match(result.stderr, `bmo: 127.0.0.1:${port} is already in use`);
    assert.match(result.stderr, /--port <n>/, 'it says how to serve elsewhere');
    assert.not.match(result.stderr, /\n\s+at /, 'no stack trace for a taken port');
    assert.not.ok(existsSync(join(dir, 'data', 'LOCK')), 'the data directory is let go');
    const server = await spawnServer(join(dir, 'data'));
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'the next serve starts at once');
    assert.is(await server.stop(), 0);
  } finally {
    squatter.close();
    cleanup();
  }
});

test('a SIGTERM sent the moment bmo serve says it serves stops it cleanly: exit 0 and the LOCK let go', async () => {
  const { dir, cleanup } = tempDir('bmo-serve-');
  // Two busy processes keep both cores taken, so bmo may be held up right after its line, as on a loaded host.
  const busy = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  try {
    // The handlers used to be installed just after that line: a quick supervisor's SIGTERM killed bmo outright.
    for (let i = 0; i < 8; i++) {
      const server = await spawnServer(dir);
      assert.is(await server.stop('SIGTERM'), 0, `round ${i + 1}: ${server.stderr()}`);
      assert.not.ok(existsSync(join(dir, 'LOCK')), `round ${i + 1}: the LOCK is gone`);
    }
  } finally {
    for (const child of busy) child.kill('SIGKILL');
    cleanup();
  }
});

test.run();
