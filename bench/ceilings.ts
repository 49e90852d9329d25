/**
 * What the product is measured against: bare fdatasync, a bare fastify POST route, a bare `ws`
 * broadcast (the raw parse ceiling runs in replay.ts, in its own process); and the bare POST route
 * made durable, which no target uses but which splits the POST's gap into the disk's and bmo's.
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

/**
 * (e) not a target's ceiling but what explains one: (c) made durable. Each POST appends `line` to
 * one file and is answered `{ok:true}` once an fdatasync covers it; the posts of one turn of the
 * event loop share a write and a sync, and those arriving meanwhile share the next, as bmo's group
 * commit does. What bmo does beyond this (validate, decide, encode, apply, answer the envelope) is
 * the product's own cost; what this loses to (c) is the disk's.
 */
export async function startDurableNoopServer(file: string, line: Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const fd = fs.openSync(file, 'a');
  let waiting: (() => void)[] = [];
  let syncing = false;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (syncing || waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    fs.writevSync(fd, batch.map(() => line));
    syncing = true;
    fs.fdatasync(fd, (error) => {
      if (error) throw error;
      syncing = false;
      for (const answer of batch) answer();
      flush();
    });
  };
  const app = Fastify({ logger: false });
  app.post('/durable', (_request, reply) => {
    waiting.push(() => void reply.send({ ok: true }));
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      fs.closeSync(fd);
    },
  };
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
