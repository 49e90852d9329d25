/**
 * WebSocket subscribers, run in their own process: `clients` connections that count the messages
 * they receive. Control frames of bmo's stream (`{"op":...}`) are not counted as deliveries.
 * in  `{type:'connect', url, clients, headers, waitFor:'open'|'caught_up'}` → out `{type:'connected'}`
 * in  `{type:'arm', expect}` → out `{type:'armed'}`, later `{type:'done', ms, delivered}` once every
 *     client got `expect` more messages (or `{type:'done', timedOut:true, ...}` after `timeoutMs`).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { report } from './common.js';

const OP_PREFIX = Buffer.from('{"op"');

interface Client {
  ws: WebSocket;
  count: number;
}

let clients: Client[] = [];
let expect = 0;
let doneClients = 0;
let armedAt = 0;
let firstAt = 0;
let finished = true;
let timer: NodeJS.Timeout | undefined;

function finish(timedOut: boolean): void {
  if (finished) return;
  finished = true;
  if (timer) clearTimeout(timer);
  const delivered = clients.reduce((n, c) => n + Math.min(c.count, expect), 0);
  report({ type: 'done', timedOut, delivered, msFromFirst: performance.now() - firstAt, msFromArm: performance.now() - armedAt });
}

async function connect(url: string, count: number, headers: Record<string, string>, waitFor: 'open' | 'caught_up'): Promise<void> {
  const opened = Array.from({ length: count }, () => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const client: Client = { ws, count: 0 };
    clients.push(client);
    return new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('close', (code, reason) => {
        if (!finished) report({ type: 'closed', code, reason: String(reason) });
      });
      if (waitFor === 'open') ws.once('open', () => resolve());
      ws.on('message', (data: Buffer) => {
        if (data.length >= OP_PREFIX.length && data.compare(OP_PREFIX, 0, OP_PREFIX.length, 0, OP_PREFIX.length) === 0) {
          if (waitFor === 'caught_up' && data.includes('"caught_up"')) resolve();
          return;
        }
        if (firstAt === 0) firstAt = performance.now();
        if (++client.count === expect && !finished && ++doneClients === clients.length) finish(false);
      });
    });
  });
  await Promise.all(opened);
}

process.on('message', (message: { type: string; [k: string]: any }) => {
  if (message.type === 'connect') {
    connect(message.url, message.clients, message.headers ?? {}, message.waitFor ?? 'open').then(
      () => report({ type: 'connected', clients: clients.length }),
      (error) => report({ type: 'connected', error: String(error) }),
    );
  } else if (message.type === 'arm') {
    for (const c of clients) c.count = 0;
    expect = message.expect;
    doneClients = 0;
    firstAt = 0;
    finished = false;
    armedAt = performance.now();
    timer = setTimeout(() => finish(true), message.timeoutMs ?? 30_000);
    report({ type: 'armed' });
  } else if (message.type === 'close') {
    for (const c of clients) c.ws.close();
    clients = [];
    report({ type: 'closed-all' });
  }
});
process.on('disconnect', () => process.exit(0));
report({ type: 'ready' });
