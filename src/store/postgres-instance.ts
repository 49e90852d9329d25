import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { pgDriver } from './pg-driver.js';
import type { Logger } from 'pino';

/** How long after a lost connection the instance lock is taken again. */
const RETAKE_MS = 1_000;

/**
 * Which of the instances sharing a schema still run: each holds a session advisory lock named by
 * its id on a connection of its own, for as long as it runs. PostgreSQL lets it go when that
 * connection ends (the process exited or was killed), so another instance that can take it knows
 * the owner is gone. What an operation's owner (operation_started `instance`) is checked by.
 */
export class InstanceLock {
  readonly id = randomUUID();
  private client: pg.Client | undefined;
  private retake: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly schema: string,
    private readonly role: string,
    private readonly logger: Logger,
  ) {}

  /** Takes this instance's lock on a connection of its own. */
  async hold(): Promise<void> {
    const client = new (await pgDriver()).Client({ connectionString: this.url, application_name: `bmo (${this.role}, instance lock)`, connectionTimeoutMillis: 10_000 });
    client.on('error', (error) => this.lost(client, error));
    await client.connect();
    await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [this.name, this.id]);
    this.client = client;
  }

  /** Whether no running instance holds the lock of `id` (tried and let go in one statement of its own). */
  async gone(pool: pg.Pool, id: string): Promise<boolean> {
    if (id === this.id) return false;
    const { rows } = await pool.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS free', [this.name, id]);
    return rows[0].free;
  }

  async release(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retake);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private get name(): string {
    return `bmo instance of ${this.schema}`;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.logger.warn({ err: error }, 'the connection holding this instance lock failed: until it is taken again another instance may finish the operations this one runs');
    const again = () => {
      this.retake = undefined;
      if (this.closed) return;
      this.hold().catch(() => (this.retake = setTimeout(again, RETAKE_MS)));
    };
    this.retake = setTimeout(again, RETAKE_MS);
  }
}
