/**
 * The raw PostgreSQL ceiling, run in its own process: `connections` clients, each sending one
 * `INSERT` of a stored line after the other (autocommit, `synchronous_commit` on: one durable
 * commit each), into a table shaped like bmo's events table, with no HTTP in front.
 * in  `{type:'run', ...PgLoadConfig}` → out `{type:'window'}` when the window opens, then
 *     `{type:'result', ...LoadResult}` when it closes.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { percentile, report, sortedCopy } from './common.js';
import type { LoadResult } from './load.js';

export interface PgLoadConfig {
  url: string;
  /** A quoted, schema-qualified table made by `pgCeilingTable`. */
  table: string;
  line: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

/** The DDL of the ceiling's table: bmo's events columns, its position from an identity. */
export function pgCeilingTable(schema: string): { table: string; ddl: string } {
  const table = `"${schema}".raw_events`;
  return {
    table,
    ddl: `CREATE SCHEMA "${schema}";
      CREATE TABLE ${table} (
        pos bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream text NOT NULL, seq bigint NOT NULL, id uuid NOT NULL, type text NOT NULL, at timestamptz NOT NULL, line text NOT NULL,
        UNIQUE (stream, seq))`,
  };
}

async function run(config: PgLoadConfig): Promise<LoadResult> {
  const clients = await Promise.all(
    Array.from({ length: config.connections }, async () => {
      const client = new pg.Client({ connectionString: config.url });
      await client.connect();
      await client.query('SET synchronous_commit = on');
      return client;
    }),
  );
  const sql = `INSERT INTO ${config.table} (stream, seq, id, type, at, line) VALUES ($1, $2, gen_random_uuid(), 'message_sent', now(), $3)`;
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const worker = async (client: pg.Client, c: number) => {
    const stream = `teams/raw-${c}-${process.pid}-${Date.now()}`;
    for (let seq = 1; phase !== 'done'; seq++) {
      const started = performance.now();
      try {
        await client.query({ name: 'raw-insert', text: sql, values: [stream, seq, config.line] });
        if (phase === 'measure') {
          requests++;
          latencies.push(performance.now() - started);
        }
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
    }
  };
  const workers = clients.map((client, c) => worker(client, c));
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
  await Promise.all(clients.map((c) => c.end()));
  return {
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
}

if (process.send) {
  process.on('message', (message: { type: string } & PgLoadConfig) => {
    if (message.type !== 'run') return;
    run(message).then(
      (result) => report(result as unknown as { type: string }),
      (error) => report({ type: 'result', error: String(error?.stack ?? error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  report({ type: 'ready' });
}
