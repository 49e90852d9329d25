import type pg from 'pg';
import { CorruptLogError } from '../errors.js';
import { decodeLine, lineFault } from './line.js';
import type { StoredEvent } from './types.js';

/** The quoted names of one schema's tables and its NOTIFY channel. */
export interface Tables {
  schema: string;
  events: string;
  head: string;
  /** Idempotency keys, one row each: the unique constraint holds a key to one write across instances. */
  keys: string;
  /** The function one append transaction calls (`appendFunction`). */
  append: string;
  channel: string;
}

export function tablesFor(schema: string): Tables {
  // A NOTIFY channel name is at most 63 bytes; two schemas sharing a prefix only wake each other.
  return { schema, events: `"${schema}".events`, head: `"${schema}".head`, keys: `"${schema}".keys`, append: `"${schema}".append_v1`, channel: `bmo_${schema}`.slice(0, 63) };
}

/** `host:port/database` of a PostgreSQL url, never its password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'the configured [store] url';
  }
}

/**
 * Creates the tables when missing and brings an older schema up to date, in one transaction under
 * a lock two starting instances share; answers what it changed, for the log.
 */
export async function ensureSchema(pool: pg.Pool, t: Tables, where: string): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Two instances starting together must not both create the tables.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('bmo schema ' || $1))`, [t.schema]);
    // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
    const { rows: found } = await client.query<{ ready: boolean }>(`SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ready`, [t.events, t.head]);
    if (!found[0].ready) await client.query(createTables(t));
    const migrated = await migrate(client, t);
    await client.query(`INSERT INTO ${t.head} (one, pos) VALUES (true, coalesce((SELECT max(pos) FROM ${t.events}), 0)) ON CONFLICT DO NOTHING`);
    const { rows } = await client.query<{ head: string; max: string | null }>(`SELECT (SELECT pos FROM ${t.head}) AS head, (SELECT max(pos) FROM ${t.events}) AS max`);
    const head = Number(rows[0].head);
    const max = Number(rows[0].max ?? 0);
    if (head < max) throw new CorruptLogError(`postgres ${where} ${t.head}`, 0, `head is at pos ${head} but the events table goes to ${max}; set it with UPDATE ${t.head} SET pos = ${max}`);
    await client.query('COMMIT');
    return migrated;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Each step checks before it changes anything, so it runs on every start. */
async function migrate(client: pg.PoolClient, t: Tables): Promise<string[]> {
  const done: string[] = [];
  const { rows } = await client.query<{ data_type: string }>(
    `SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events' AND column_name = 'seq'`,
    [t.schema],
  );
  if (rows[0]?.data_type === 'integer') {
    // A 32-bit seq refused from_seq past 2^31 with an error; the column grows in place.
    await client.query(`ALTER TABLE ${t.events} ALTER COLUMN seq TYPE bigint`);
    done.push('events.seq integer -> bigint');
  }
  const { rows: keys } = await client.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [t.keys]);
  if (!keys[0].present) {
    await client.query(`
      CREATE TABLE ${t.keys} (
        key text PRIMARY KEY,
        stream text NOT NULL,
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        request_hash text NOT NULL
      );
      COMMENT ON TABLE ${t.keys} IS 'bmo: one row per Idempotency-Key, written in the transaction of the append it names';
      INSERT INTO ${t.keys} (key, stream, first_seq, last_seq, request_hash)
        SELECT line::jsonb->'meta'->>'idempotency_key', stream, min(seq), max(seq), coalesce(min(line::jsonb->'meta'->>'request_hash'), '')
        FROM ${t.events} WHERE line::jsonb->'meta' ? 'idempotency_key'
        GROUP BY 1, 2 ON CONFLICT DO NOTHING;
    `);
    done.push('keys table created from the events');
  }
  const { rows: fn } = await client.query<{ present: boolean }>(`SELECT to_regproc($1) IS NOT NULL AS present`, [t.append]);
  if (!fn[0].present) {
    await client.query(appendFunction(t));
    done.push('append_v1 function created');
  }
  return done;
}

/**
 * The writes of one append transaction, in one call: it locks the head row, checks that the head
 * and each stream's last seq are what the caller placed its events on and that no key it claims is
 * taken, and only then records the keys, moves the head, inserts the events and notifies. It
 * answers false, having written nothing, when a check fails. Each statement of a plpgsql function
 * reads what was committed before it (read committed), so the checks see every write that held the
 * head lock before this one. A changed body takes a new name: instances of two versions can share
 * a schema.
 */
function appendFunction(t: Tables): string {
  return `
    CREATE FUNCTION ${t.append}(
      p_head bigint, p_streams text[], p_seqs bigint[],
      k_key text[], k_stream text[], k_first bigint[], k_last bigint[], k_hash text[], k_claimed boolean[],
      e_pos bigint[], e_stream text[], e_seq bigint[], e_id uuid[], e_type text[], e_at timestamptz[], e_line text[], p_channel text)
    RETURNS boolean LANGUAGE plpgsql AS $fn$
    DECLARE
      h bigint;
    BEGIN
      SELECT head.pos INTO h FROM ${t.head} AS head FOR UPDATE;
      IF h IS DISTINCT FROM p_head THEN RETURN false; END IF;
      IF EXISTS (SELECT 1 FROM unnest(p_streams, p_seqs) AS s(stream, seq)
                 WHERE coalesce((SELECT e.seq FROM ${t.events} e WHERE e.stream = s.stream ORDER BY e.seq DESC LIMIT 1), 0) <> s.seq) THEN
        RETURN false;
      END IF;
      IF EXISTS (SELECT 1 FROM ${t.keys} k JOIN unnest(k_key, k_claimed) AS u(key, claimed) ON k.key = u.key WHERE u.claimed) THEN
        RETURN false;
      END IF;
      -- A claimed key is inserted plainly: the unique constraint refuses a second write with it, whatever got past the check.
      INSERT INTO ${t.keys} (key, stream, first_seq, last_seq, request_hash)
        SELECT u.key, u.stream, u.first_seq, u.last_seq, u.request_hash FROM unnest(k_key, k_stream, k_first, k_last, k_hash, k_claimed)
          AS u(key, stream, first_seq, last_seq, request_hash, claimed) WHERE u.claimed;
      INSERT INTO ${t.keys} AS k (key, stream, first_seq, last_seq, request_hash)
        SELECT u.key, u.stream, u.first_seq, u.last_seq, u.request_hash FROM unnest(k_key, k_stream, k_first, k_last, k_hash, k_claimed)
          AS u(key, stream, first_seq, last_seq, request_hash, claimed) WHERE NOT u.claimed
        ON CONFLICT (key) DO UPDATE SET last_seq = greatest(k.last_seq, excluded.last_seq) WHERE k.stream = excluded.stream;
      UPDATE ${t.head} SET pos = e_pos[cardinality(e_pos)];
      INSERT INTO ${t.events} (pos, stream, seq, id, type, at, line)
        SELECT * FROM unnest(e_pos, e_stream, e_seq, e_id, e_type, e_at, e_line);
      PERFORM pg_notify(p_channel, e_pos[cardinality(e_pos)]::text);
      RETURN true;
    END
    $fn$;
    COMMENT ON FUNCTION ${t.append} IS 'bmo: the writes of one append transaction, after checking what they were placed on';
  `;
}

function createTables(t: Tables): string {
  return `
    CREATE SCHEMA IF NOT EXISTS "${t.schema}";
    CREATE TABLE IF NOT EXISTS ${t.events} (
      pos bigint PRIMARY KEY,
      stream text NOT NULL,
      seq bigint NOT NULL CHECK (seq > 0),
      id uuid NOT NULL,
      type text NOT NULL,
      at timestamptz NOT NULL,
      line text NOT NULL,
      UNIQUE (stream, seq)
    );
    CREATE TABLE IF NOT EXISTS ${t.head} (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      pos bigint NOT NULL
    );
    COMMENT ON TABLE ${t.events} IS 'bmo event log: one row per event, line is the stored envelope byte for byte (query it with line::jsonb)';
    COMMENT ON TABLE ${t.head} IS 'bmo: the last position handed out; appends lock this row until they commit';
  `;
}

const NEWLINE = Buffer.from('\n');

/** Reads the rows of one schema's events table back into stored events, refusing what no append writes. */
export class RowDecoder {
  constructor(
    private readonly where: string,
    private readonly t: Tables,
  ) {}

  /** The events table holds something no append writes, at `pos`. */
  corrupt(pos: number, reason: string): CorruptLogError {
    return new CorruptLogError(`postgres ${this.where} ${this.t.events}`, pos, reason);
  }

  /** A row's line as stored, with its newline, checked by its CRC but not parsed. */
  line(pos: number, text: string): Buffer {
    const bare = text.endsWith('\n') ? text.slice(0, -1) : text;
    const line = Buffer.allocUnsafe(Buffer.byteLength(bare) + 1);
    const end = line.write(bare, 0, 'utf8');
    line[end] = 0x0a;
    const fault = lineFault(line, 0, end);
    if (fault !== undefined) throw this.corrupt(pos, `the stored line no longer reads: ${fault}`);
    return line;
  }

  decode(pos: number, text: string): StoredEvent {
    const line = Buffer.from(text, 'utf8');
    const end = line[line.length - 1] === 0x0a ? line.length - 1 : line.length;
    const decoded = decodeLine(line, 0, end);
    if (!decoded.ok) throw this.corrupt(pos, `the stored line no longer reads: ${decoded.reason}`);
    if (decoded.envelope.pos !== pos) throw this.corrupt(pos, `the row holds the line of pos ${decoded.envelope.pos}`);
    return { envelope: decoded.envelope, line: end === line.length ? Buffer.concat([line, NEWLINE]) : line };
  }
}
