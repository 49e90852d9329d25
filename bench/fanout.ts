/**
 * Append → subscriber latency, run in its own process: `subscribers` WebSocket clients on bmo's
 * stream and, in the same process (one clock for both ends), writers posting `rate` messages a
 * second over HTTP for a warm-up and then a measured window. Each message's body carries its index;
 * a subscriber's latency for it is from the moment its request was sent to that frame's receipt.
 * Every subscriber must receive every message exactly once.
 * in  `{type:'run', ...FanoutConfig}` → out `{type:'result', ...FanoutResult}`.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { percentile, report } from './common.js';

export interface FanoutConfig {
  url: string;
  token: string;
  teamId: string;
  subscribers: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** How long after the last send every delivery must have arrived. */
  drainMs: number;
}

export interface FanoutResult {
  sent: number;
  measured: number;
  errors: number;
  firstError?: string;
  /** Deliveries that never arrived (or arrived twice): 0 when every subscriber got every message once. */
  missing: number;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Sends per second actually achieved over the measured window. */
  sendRate: number;
}

const OP_PREFIX = Buffer.from('{"op"');
const MARK = Buffer.from('fo#');

/** The index in a frame's `fo#<n>#` marker, or -1. */
function indexIn(frame: Buffer): number {
  const at = frame.indexOf(MARK);
  if (at === -1) return -1;
  let n = 0;
  for (let i = at + MARK.length; i < frame.length; i++) {
    const c = frame[i];
    if (c === 35) return n; // '#'
    n = n * 10 + (c - 48);
  }
  return -1;
}

async function subscribe(config: FanoutConfig, onFrame: (client: number, frame: Buffer) => void): Promise<WebSocket[]> {
  const streamUrl = `${config.url.replace(/^http/, 'ws')}/v1/stream?from=0&filter=teams/${config.teamId}`;
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from({ length: config.subscribers }, (_, client) => {
      const ws = new WebSocket(streamUrl, { headers: { authorization: `Bearer ${config.token}` }, perMessageDeflate: false });
      sockets.push(ws);
      return new Promise<void>((resolve, reject) => {
        let caughtUp = false;
        ws.once('error', reject);
        ws.on('close', (code, reason) => {
          if (!caughtUp) reject(new Error(`subscriber ${client} closed before catching up: ${code} ${reason}`));
        });
        ws.on('message', (data: Buffer) => {
          if (data.length >= OP_PREFIX.length && data.compare(OP_PREFIX, 0, OP_PREFIX.length, 0, OP_PREFIX.length) === 0) {
            if (!caughtUp && data.includes('"caught_up"')) {
              caughtUp = true;
              resolve();
            }
            return;
          }
          if (caughtUp) onFrame(client, data);
        });
      });
    }),
  );
  return sockets;
}

async function run(config: FanoutConfig): Promise<FanoutResult> {
  const total = Math.ceil(((config.warmupMs + config.measureMs) * config.rate) / 1000);
  const sentAt = new Float64Array(total);
  const seen = new Uint8Array(total * config.subscribers);
  const latencies: number[] = [];
  let measureFrom = Infinity;
  let delivered = 0;
  let duplicates = 0;
  let allDelivered: (() => void) | undefined;
  const sockets = await subscribe(config, (client, frame) => {
    const now = performance.now();
    const i = indexIn(frame);
    if (i < 0 || i >= total) return;
    const slot = i * config.subscribers + client;
    if (seen[slot]) {
      duplicates++;
      return;
    }
    seen[slot] = 1;
    if (i >= measureFrom) latencies.push(now - sentAt[i]);
    if (++delivered === total * config.subscribers) allDelivered?.();
  });

  const target = new URL(config.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${config.token}` };
  let errors = 0;
  let firstError: string | undefined;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (i: number) => {
    const body = Buffer.from(JSON.stringify({ from: 'm1', to: '*', body: `fan-out fo#${i}# rebased, verify is green` }));
    const done = new Promise<void>((resolve) => {
      const req = http.request({ agent, host: target.hostname, port: target.port, path: `/v1/teams/${config.teamId}/messages`, method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 201) {
            errors++;
            firstError ??= `status ${res.statusCode}`;
          }
          resolve();
        });
      });
      req.on('error', (error) => {
        errors++;
        firstError ??= String(error);
        resolve();
      });
      sentAt[i] = performance.now();
      req.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  // Open loop: at every tick, as many sends as the schedule says are due since the start.
  const t0 = performance.now();
  const measureStart = t0 + config.warmupMs;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) * config.rate) / 1000));
      while (sent < due) {
        if (measureFrom === Infinity && performance.now() >= measureStart) measureFrom = sent;
        send(sent++);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const sendSeconds = (performance.now() - measureStart) / 1000;
  await Promise.all(inFlight);
  if (delivered < total * config.subscribers) {
    await new Promise<void>((resolve) => {
      allDelivered = resolve;
      setTimeout(resolve, config.drainMs);
    });
  }
  agent.destroy();
  for (const ws of sockets) ws.terminate();
  const sorted = Float64Array.from(latencies).sort();
  const measured = total - Math.min(total, measureFrom);
  return {
    sent,
    measured,
    errors,
    firstError,
    missing: total * config.subscribers - delivered,
    duplicates,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    sendRate: measured / sendSeconds,
  };
}

process.on('message', (message: { type: string } & FanoutConfig) => {
  if (message.type !== 'run') return;
  run(message).then(
    (result) => report({ type: 'result', ...result }),
    (error) => report({ type: 'result', error: String(error?.stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
report({ type: 'ready' });
