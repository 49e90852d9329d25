import { createReadStream, createWriteStream, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { BmoError } from '../errors.js';
import type { EventStore } from '../store/index.js';
import { exportStore, importStore, type TransferProgress } from '../store/transfer.js';
import { configFrom, print } from './shell.js';
import { cliLogger } from './connect.js';

interface StoreOptions {
  backend?: string;
  storeUrl?: string;
  schema?: string;
}

/** `bmo export` and `bmo import`: move a whole store between backends (or machines) as NDJSON. */
export function registerTransferCommands(program: Command): void {
  const storeOptions = (command: Command) =>
    command
      .option('--backend <backend>', 'jsonl or postgres (default from config: [store] backend)')
      .option('--store-url <url>', 'with postgres: postgres://user@host:5432/database (default: [store] url, BMO_STORE_URL)')
      .option('--schema <schema>', 'with postgres: the schema (default: [store] schema, "bmo")');

  storeOptions(program.command('export'))
    .description('write every event of the store, in pos order, as NDJSON (stored lines, CRC included); the jsonl store must not be served meanwhile')
    .option('--out <file>', 'write here instead of stdout')
    .option('--json', 'print the summary as JSON (on stderr when the events go to stdout)')
    .action(async (opts: StoreOptions & { out?: string; json?: boolean }) => {
      const config = storeConfig(program, opts);
      // The file first, before the store is opened and read: an export never overwrites one.
      const fd = opts.out === undefined ? undefined : openNew(opts.out);
      await withStore(config, 'bmo export', async (store) => {
        const out = fd !== undefined ? createWriteStream('', { fd }) : process.stdout;
        const events = await exportStore(store, out, progressLine('exported'));
        if (opts.out) {
          out.end();
          await finished(out);
        }
        const summary = { events, head: store.head(), from: (await import('../app.js')).describeStore(config) };
        const text = `exported ${events} events from ${summary.from}${opts.out ? ` to ${opts.out}` : ''}`;
        if (opts.out) print(!!opts.json, summary, () => text);
        else process.stderr.write(`${opts.json ? JSON.stringify(summary) : text}\n`);
      });
    });

  storeOptions(program.command('import'))
    .description('append the events of a `bmo export` to an empty store, keeping streams, seqs, ids, times and meta')
    .argument('[file]', 'the export (default: stdin)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string | undefined, opts: StoreOptions & { json?: boolean }) => {
      const config = storeConfig(program, opts);
      await withStore(config, 'bmo import', async (store) => {
        const result = await withExportFile(file, (path) => importStore(store, () => createReadStream(path), progressLine('imported')));
        const summary = { ...result, into: (await import('../app.js')).describeStore(config) };
        print(!!opts.json, summary, () =>
          [
            `imported ${result.events} events in ${result.streams} streams into ${summary.into}`,
            result.renumbered > 0 ? `${result.renumbered} events have new positions (the source's positions had gaps)` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
      });
    });
}

/** The export as a file the import can read twice (a check, then the appends): stdin is kept in a temp file first. */
async function withExportFile<T>(file: string | undefined, run: (path: string) => Promise<T>): Promise<T> {
  if (file) return run(file);
  const dir = await mkdtemp(join(tmpdir(), 'bmo-import-'));
  try {
    const path = join(dir, 'export.ndjson');
    await pipeline(process.stdin, createWriteStream(path));
    return await run(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function storeConfig(program: Command, opts: StoreOptions): Config {
  const store: Record<string, unknown> = {};
  if (opts.backend) store.backend = opts.backend;
  if (opts.storeUrl) store.url = opts.storeUrl;
  if (opts.schema) store.schema = opts.schema;
  return configFrom(program, {}, store).config;
}

/** Opens the configured store here (under the data directory's lock for jsonl), runs `body`, closes it. */
async function withStore(config: Config, role: string, body: (store: EventStore) => Promise<void>): Promise<void> {
  const logger = await cliLogger();
  let fatal: unknown;
  const { createStore } = await import('../store/create.js');
  const store = createStore(config, logger, (error) => (fatal = error), role);
  await store.open();
  try {
    await body(store);
    if (fatal) throw fatal;
  } finally {
    await store.close();
  }
}

/** A progress line on stderr at most once a second, for long transfers. */
function progressLine(verb: string): (progress: TransferProgress) => void {
  let last = Date.now();
  return ({ events, total }) => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    process.stderr.write(`${verb} ${events}${total ? ` of ${total} (${Math.round((100 * events) / total)}%)` : ''} events\n`);
  };
}

/** Creates `path` for writing, refusing one that is there already (`bmo export` overwrites nothing). */
function openNew(path: string): number {
  try {
    return openSync(path, 'wx');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BmoError('bad_request', `--out ${path} is there already; bmo export overwrites nothing: name a new file, or remove that one`, { field: '--out' });
    throw new BmoError('bad_request', `--out ${path}: cannot create it (${code ?? (error as Error).message})`, { field: '--out' });
  }
}
