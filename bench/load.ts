/**
 * The HTTP load generator, run in its own process: `connections` keep-alive connections, each
 * sending one request after the other (no pipelining) for a warm-up and then a measured window.
 * Messages: in `{type:'run', ...LoadConfig}` → out `{type:'window'}` when the window opens,
 * `{type:'result', ...}` when it closes.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile, report, sortedCopy } from './common.js';

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
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  let next = 0;

  const once = (body: Buffer) =>
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

  const worker = async () => {
    while (phase !== 'done') {
      const body = bodies[next++ % bodies.length];
      const started = performance.now();
      let status = 0;
      try {
        status = await once(body);
      } catch (error) {
        firstError ??= String(error);
      }
      if (phase !== 'measure') continue;
      if (status === config.expectStatus) {
        requests++;
        latencies.push(performance.now() - started);
      } else {
        errors++;
        firstError ??= `status ${status}`;
      }
    }
  };

  const workers = Array.from({ length: config.connections }, () => worker());
  await new Promise((resolve) => setTimeout(resolve, config.warmupMs));
  phase = 'measure';
  report({ type: 'window' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, config.durationMs));
  phase = 'done';
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const counted = requests;
  const sorted = sortedCopy(latencies);
  await Promise.allSettled(workers);
  agent.destroy();
  const result: LoadResult = {
    type: 'result',
    requests: counted,
    errors,
    firstError,
    seconds,
    reqPerSec: counted / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    clientCpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / seconds,
  };
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
