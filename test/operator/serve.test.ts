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

test.run();
