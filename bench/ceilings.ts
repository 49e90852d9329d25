/**
 * What the product is measured against: bare fdatasync, a bare fastify POST route, a bare `ws`
 * broadcast (the raw parse ceiling runs in replay.ts, in its own process).
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DomainEvent, StreamName } from '../events/index.js';
import type { JsonlEventStore } from '../src/store/index.js';

/** (a) write + fdatasync of one line, one after the other, for `ms`: latencies in µs. */
export function fdatasyncLoop(fd: number, line: Buffer, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  return new Promise((resolve, reject) => {
    const step = () => {
      const t = process.hrtime.bigint();
      fs.write(fd, line, (writeError) => {
        if (writeError) return reject(writeError);
        fs.fdatasync(fd, (syncError) => {
          if (syncError) return reject(syncError);
          samples.push(Number(process.hrtime.bigint() - t) / 1000);
          if (performance.now() < end) step();
          else resolve(samples);
        });
      });
    };
    step();
  });
}

/** (2) the product's serial path: `store.append` of one event, awaited, for `ms`: latencies in µs. */
export async function serialAppendLoop(store: JsonlEventStore, stream: StreamName, event: DomainEvent, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = process.hrtime.bigint();
    await store.append(stream, [event]);
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return samples;
}

/** (c) a bare fastify app with one POST route answering `{ok:true}`. */
export async function startNoopServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ logger: false });
  app.post('/noop', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** (d) a bare `ws` server that sends the same messages to every connected client. */
export async function startRawWsServer(): Promise<{ url: string; clients: () => number; broadcast: (payload: Buffer, count: number, corked?: boolean) => Promise<void>; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    clients: () => sockets.size,
    /**
     * `count` text frames to every client, 256 at a time per client, yielding between rounds.
     * `corked`: each client's frames of a round go out in one write, as bmo's stream does.
     */
    async broadcast(payload, count, corked = false) {
      for (let sent = 0; sent < count; ) {
        const n = Math.min(256, count - sent);
        for (const ws of sockets) {
          const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
          if (corked) socket?.cork();
          for (let i = 0; i < n; i++) ws.send(payload, { binary: false });
          if (corked) socket?.uncork();
        }
        sent += n;
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
