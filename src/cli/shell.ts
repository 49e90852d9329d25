import { InvalidArgumentError, Option, type Command } from 'commander';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/config.js';
import { BmoError } from '../errors.js';
import { AsOfParam } from '../pipeline/as-of.js';
import { connect, type Connection } from './connect.js';
import { sendSpooled, spooledNames, syncWords } from './spool.js';

/** An option's parser for a whole number from `min` (to `max`): anything else is a usage error that names the option. */
export const wholeNumber =
  (name: string, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      const range = max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : min === 1 ? 'above 0' : `of ${min} or more`;
      throw new InvalidArgumentError(`${name} must be a whole number ${range}`);
    }
    return n;
  };

/**
 * `--as-of`: a position (a whole number from 1) or an ISO-8601 time, as the server's `as_of` takes
 * it; a time without a zone is this machine's local time, sent as UTC.
 */
export function asOfOption(value: string): string {
  const local = /^\d{4}-\d\d-\d\dT[\d:.]+$/.test(value) ? new Date(value) : undefined;
  const sent = local && !Number.isNaN(local.getTime()) ? local.toISOString() : value;
  if (!AsOfParam.safeParse(sent).success) throw new InvalidArgumentError('--as-of must be a position (a whole number from 1) or an ISO-8601 time such as 2026-01-01T10:00:00Z (without a zone: your local time)');
  return sent;
}

/** `--as-of` on a read, the same on every verb that has it. */
export const asOfFlag = (what = 'as it was') =>
  new Option('--as-of <pos|time>', `${what} once the log reached this position, or at this ISO-8601 time (without a zone: your local time)`).argParser(asOfOption);

/** A read's text with " as of <point>" at the end of its first line when it was read as of one. */
export const asOfHeader = (text: string, asOf: string | undefined) => (asOf === undefined ? text : text.replace(/\n|$/, ` as of ${asOf}$&`));

/** `?as_of=…` for a read, or nothing for the live answer. */
export const asOfQuery = (asOf: string | undefined, sep = '?') => (asOf === undefined ? '' : `${sep}as_of=${encodeURIComponent(asOf)}`);

/** Exit codes a script can branch on (README lists them). */
export const EXIT = { ok: 0, failed: 1, usage: 2, not_found: 3, conflict: 4, disabled: 5, unavailable: 69, unauthorized: 77, config: 78 } as const;

export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.config;
  if (!(error instanceof BmoError)) return EXIT.failed;
  switch (error.code) {
    case 'teams_disabled':
      return EXIT.disabled;
    case 'not_found':
      return EXIT.not_found;
    case 'conflict':
    case 'version_conflict':
    case 'idempotency_mismatch':
      return EXIT.conflict;
    case 'unauthorized':
    case 'forbidden':
      return EXIT.unauthorized;
    case 'store_unavailable':
    case 'store_locked':
    case 'rate_limited':
    case 'remote_failed':
    case 'remote_timeout':
      return EXIT.unavailable;
    case 'remote_unauthorized':
      return EXIT.unauthorized;
    default:
      return error.status < 500 ? EXIT.usage : EXIT.failed;
  }
}

/** The config as the global options (--config, --data-dir, --url) and the files give it. */
export function configFrom(program: Command, extra: Record<string, unknown> = {}, store: Record<string, unknown> = {}): LoadedConfig {
  const opts = program.opts<{ config?: string; dataDir?: string; url?: string }>();
  const server: Record<string, unknown> = { ...extra };
  if (opts.dataDir) server.data_dir = opts.dataDir;
  if (opts.url) server.url = opts.url;
  return loadConfig({ env: { ...process.env, ...(opts.config ? { BMO_CONFIG: opts.config } : {}) }, overrides: { server, store } });
}

/** Runs a verb against the server (or the data directory opened in-process), then lets go of it. */
export async function withConnection(program: Command, run: (connection: Connection, loaded: LoadedConfig) => Promise<void>, options: { sendSpool?: boolean } = {}): Promise<void> {
  const loaded = configFrom(program);
  const { wait } = program.opts<{ wait?: number }>();
  const connection = await connect(loaded.config, { role: cliRole(), waitMs: (wait ?? 10) * 1000 });
  try {
    // Results spooled while this server could not be reached go first, in the order they were made.
    if (options.sendSpool !== false && connection.mode === 'server' && spooledNames().length > 0) process.stderr.write(syncWords(await sendSpooled(connection)));
    await run(connection, loaded);
  } finally {
    await connection.close();
  }
}

/** `--json` prints the value as JSON; otherwise the text for people. */
export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** The command as a data directory's LOCK names it: `bmo` and its verbs, never an id or free text. */
export function cliRole(argv = process.argv.slice(2)): string {
  const words: string[] = [];
  for (const word of argv) {
    if (word.startsWith('-') || !/^[a-z][a-z-]*$/.test(word) || words.length === 2) break;
    words.push(word);
  }
  return `bmo ${words.join(' ') || '(a CLI command)'}`.trim();
}
