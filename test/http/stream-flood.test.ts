import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { spawnServer, TOKEN } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

/** The resident set of a process, in MB, from /proc. */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** A client that stops reading and sends `{"op":"ping"}` frames as fast as its socket takes them, until it is closed. */
async function flooder(url: string): Promise<{ closed: Promise<number>; sent: () => number }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream?from=0`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  (ws as unknown as { _socket: Socket })._socket.pause();
  let sent = 0;
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  const flood = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < 200; i++, sent++) ws.send('{"op":"ping"}');
    setImmediate(flood);
  };
  flood();
  return { closed, sent: () => sent };
}

test('ten clients that stop reading and flood pings are closed, and the server stays within its memory', async () => {
  const { dir, cleanup } = tempDir('bmo-flood-');
  const server = await spawnServer(dir);
  try {
    const pid = server.child.pid!;
    const before = rssMb(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
    const clients = await Promise.all(Array.from({ length: 10 }, () => flooder(server.url)));
    const started = Date.now();
    const codes = await Promise.race([
      Promise.all(clients.map((c) => c.closed)),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000).unref()),
    ]);
    clearInterval(sampler);
    assert.ok(codes, `not every flooding client was closed within 10 s (sent ${clients.map((c) => c.sent()).join(', ')} frames)`);
    // A client that does not read never sees the 4029 frame: its connection is cut after the close's grace.
    for (const code of codes!) assert.ok(code === 4029 || code === 1006, `closed with ${code}`);
    assert.ok(Date.now() - started < 5_000, `closed after ${Date.now() - started} ms`);
    assert.ok(peak - before < 100, `RSS went from ${before.toFixed(0)} MB to ${peak.toFixed(0)} MB`);

    // The server still serves.
    const health = await fetch(`${server.url}/healthz`);
    assert.is(health.status, 200);
  } finally {
    await server.stop();
    cleanup();
  }
});

test.run();
