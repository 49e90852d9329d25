import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Bmo } from '../../src/app.js';
import { call, startTestBmo, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

async function withBmo(overrides: Record<string, unknown>, body: (bmo: Bmo) => Promise<void>, listen = true): Promise<void> {
  const { dir, cleanup } = tempDir('bmo-limits-');
  const bmo = await startTestBmo(dir, { listen, overrides });
  try {
    await body(bmo);
  } finally {
    await bmo.close();
    cleanup();
  }
}

/** Writes `head` (and `body`) on a raw connection and collects what comes back until the server closes it. */
function rawRequest(bmo: Bmo, head: string, body = ''): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(bmo.url!);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head + body));
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, ms: Date.now() - started }));
  });
}

test('a body not complete within request_timeout_ms is answered 408 request_timeout and the connection closed', async () => {
  await withBmo({ server: { request_timeout_ms: 400 } }, async (bmo) => {
    const head = `POST /v1/teams HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    const answer = await rawRequest(bmo, head, '{"name":"half');
    assert.match(answer.text, /^HTTP\/1\.1 408 /);
    const body = JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4));
    assert.is(body.error, 'request_timeout');
    assert.match(body.message, /request_timeout_ms/);
    assert.ok(answer.ms >= 400, `closed after ${answer.ms} ms, before the timeout`);
    assert.ok(answer.ms < 3_000, `closed only after ${answer.ms} ms`);
    assert.equal((await call(bmo, 'GET', '/v1/teams')).json.teams, [], 'nothing was written');
  });
});

test('headers over max_header_bytes are answered 431 headers_too_large', async () => {
  await withBmo({ server: { max_header_bytes: 2048 } }, async (bmo) => {
    const answer = await rawRequest(bmo, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'p'.repeat(4096)}\r\n\r\n`);
    assert.match(answer.text, /^HTTP\/1\.1 431 /);
    assert.is(JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)).error, 'headers_too_large');
  });
});

test('an idle keep-alive connection is closed after keep_alive_timeout_ms', async () => {
  await withBmo({ server: { keep_alive_timeout_ms: 200 } }, async (bmo) => {
    const answer = await rawRequest(bmo, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.match(answer.text, /^HTTP\/1\.1 200 /);
    assert.ok(answer.ms >= 200 && answer.ms < 3_000, `closed after ${answer.ms} ms`);
  });
});

test('DNS rebinding: a request with an Origin is refused unless Host is one of the server names or allowed_hosts', async () => {
  await withBmo(
    {},
    async (bmo) => {
      const evil = await call(bmo, 'GET', '/v1/teams', undefined, { host: 'evil.example:7777', origin: 'http://evil.example:7777' });
      assert.is(evil.status, 403);
      assert.is(evil.json.error, 'forbidden');
      assert.is(evil.json.field, 'Host');
      assert.match(evil.json.message, /evil\.example.*allowed_hosts/);
      const post = await call(bmo, 'POST', '/v1/teams', { name: 'x', lead: { name: 'L' } }, { host: 'evil.example', origin: 'http://evil.example' });
      assert.is(post.status, 403);
      assert.equal((await call(bmo, 'GET', '/v1/teams')).json.teams, [], 'the refused write wrote nothing');
      for (const host of ['127.0.0.1:7777', 'localhost:7777', '[::1]:7777', 'LOCALHOST']) {
        assert.is((await call(bmo, 'GET', '/v1/teams', undefined, { host, origin: `http://${host}` })).status, 200, host);
      }
      assert.is((await call(bmo, 'GET', '/v1/teams', undefined, { host: 'evil.example' })).status, 200, 'no Origin: not a browser');
    },
    false,
  );
  await withBmo(
    { server: { allowed_hosts: ['bmo.internal'] } },
    async (bmo) => {
      assert.is((await call(bmo, 'GET', '/v1/teams', undefined, { host: 'bmo.internal:7777', origin: 'http://bmo.internal:7777' })).status, 200);
      assert.is((await call(bmo, 'GET', '/v1/teams', undefined, { host: 'evil.example', origin: 'http://evil.example' })).status, 403);
    },
    false,
  );
});

test('DNS rebinding: a browser upgrade with Host evil.example and a matching Origin is refused with 403', async () => {
  await withBmo({}, async (bmo) => {
    const ws = new WebSocket(`${bmo.url!.replace(/^http/, 'ws')}/v1/stream?from=0`, {
      headers: { authorization: `Bearer ${TOKEN}`, host: 'evil.example', origin: 'http://evil.example' },
    });
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', reject);
      ws.once('unexpected-response', (request, response) => {
        response.resume();
        response.on('end', () => {
          request.destroy();
          resolve(response.statusCode!);
        });
      });
    });
    assert.is(status, 403);
  });
});

test.run();
