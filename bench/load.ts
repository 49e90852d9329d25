/**
 * The HTTP load generator, run in its own process: `connections` keep-alive connections, each
 * sending one request after the other (no pipelining) for a warm-up and then a measured window.
 * Messages: in `{type:'run', ...LoadConfig}` → out `{type:'window'}` when the window opens,
 * `{type:'result', ...}` when it closes.
 */
import http from 'node:http';
import { closedLoop, report } from './common.js';

export interface LoadConfig {
  url: string;
  path: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  /** Bodies sent in rotation. */
  bodies: string[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  expectStatus: number;
}

export interface LoadResult {
  type: 'result';
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  clientCpuPct: number;
}

async function run(config: LoadConfig): Promise<void> {
  const target = new URL(config.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections, maxFreeSockets: config.connections });
  const bodies = config.bodies.map((b) => Buffer.from(b));
  let next = 0;

  const send = (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: config.path,
          method: config.method,
          headers: { ...config.headers, 'content-length': String(body.length) },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const once = async () => {
    const status = await send(bodies[next++ % bodies.length]);
    return status === config.expectStatus ? undefined : `status ${status}`;
  };

  const result = await closedLoop(config.connections, once, config.warmupMs, config.durationMs);
  agent.destroy();
  report(result as unknown as { type: string });
}

process.on('message', (message: { type: string } & LoadConfig) => {
  if (message.type === 'run') {
    run(message).catch((error) => {
      report({ type: 'result', error: String(error) });
    });
  }
});
process.on('disconnect', () => process.exit(0));
report({ type: 'ready' });
