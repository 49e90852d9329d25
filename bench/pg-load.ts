/**
 * The raw PostgreSQL ceiling, run in its own process: `connections` clients, each sending one
 * `INSERT` of a stored line after the other (autocommit, `synchronous_commit` on: one durable
 * commit each), into a table shaped like bmo's events table, with no HTTP in front.
 * in  `{type:'run', ...PgLoadConfig}` → out `{type:'window'}` when the window opens, then
 *     `{type:'result', ...LoadResult}` when it closes.
 */
import pg from 'pg';
import { closedLoop, report } from './common.js';
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
  const streams = clients.map((_, c) => `teams/raw-${c}-${process.pid}-${Date.now()}`);
  const seqs = clients.map(() => 0);
  const once = async (c: number) => {
    await clients[c].query({ name: 'raw-insert', text: sql, values: [streams[c], ++seqs[c], config.line] });
    return undefined;
  };
  const result = await closedLoop(config.connections, once, config.warmupMs, config.durationMs);
  await Promise.all(clients.map((c) => c.end()));
  return result;
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
