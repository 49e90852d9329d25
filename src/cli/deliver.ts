import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { BmoError } from '../errors.js';
import { ensureOk, serverUrl } from './connect.js';
import { UnreachableError } from './http.js';
import { configFrom, print, withConnection } from './shell.js';
import { dropSpooled, elsewhereText, sendSpooled, spool, spoolDir, waitingByUrl, type SyncReport } from './spool.js';

export interface Delivery {
  method: string;
  path: string;
  body: unknown;
  headers?: Record<string, string>;
  /** For people: what it records, e.g. `verify run on book-visuals`. */
  what: string;
}

/** A failure that means the server never took the request: nothing answered, or the answer was lost. */
function undelivered(error: unknown): boolean {
  if (error instanceof BmoError) return error.code === 'store_unavailable' || error.code === 'store_locked';
  return error instanceof UnreachableError; // the connection was refused or broke off
}

/** Where a result went: the server's reply, or the name it was spooled under and the server it waits for. */
type Delivered = { reply: any } | { spooled_as: string; url: string };

/**
 * Delivers a result (a verify run, a nanite's outcome, a finding…) with an Idempotency-Key. When
 * the server cannot be reached it is spooled on this machine, to be sent by the next command that
 * reaches the server or by `bmo sync`; answers the server's reply, or undefined when spooled.
 */
export async function deliver(program: Command, delivery: Delivery): Promise<any | undefined> {
  const delivered = await deliverOrSpool(program, delivery);
  return 'reply' in delivered ? delivered.reply : undefined;
}

/**
 * Delivers a result and prints what became of it: the reply through `text` (or as JSON), or, when
 * it was spooled, `{recorded: false, spooled_as, waits_for, what}` for `--json` (people read the
 * note on stderr), so that an agent parsing the output always gets one object.
 */
export async function deliverAndPrint<T>(program: Command, delivery: Delivery, json: boolean, text: (reply: T) => string): Promise<void> {
  const delivered = await deliverOrSpool(program, delivery);
  if ('reply' in delivered) print(json, delivered.reply, () => text(delivered.reply as T));
  else if (json) print(true, { recorded: false, spooled_as: delivered.spooled_as, waits_for: delivered.url, what: delivery.what }, () => '');
}

async function deliverOrSpool(program: Command, delivery: Delivery): Promise<Delivered> {
  const headers = { 'idempotency-key': randomUUID(), ...delivery.headers };
  try {
    let reply: any;
    await withConnection(program, async (c) => void (reply = ensureOk(await c.request(delivery.method, delivery.path, delivery.body, headers))));
    return { reply };
  } catch (error) {
    const { config } = configFrom(program);
    // Only for a server that was named: with none, the CLI records into the data directory itself.
    if (!undelivered(error) || !config.server.url) throw error;
    const url = serverUrl(config);
    const name = spool({ method: delivery.method, path: delivery.path, body: delivery.body, headers, what: delivery.what, url });
    process.stderr.write(`bmo: ${(error as Error).message}\nbmo: ${delivery.what}: recorded locally (${name}); will be sent by the next bmo command that reaches ${url}, or by bmo sync\n`);
    return { spooled_as: name, url };
  }
}

/** `bmo sync`: sends the results recorded locally while the server could not be reached, or says where they wait. */
export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('send the results recorded locally while the server could not be reached (each with its Idempotency-Key, so none is recorded twice); each waits for the server it was meant for')
    .option('--from <url>', 'send the results meant for this other server to the one bmo talks to (--url) instead')
    .option('--drop <url>', 'throw away the results meant for this server, sending nothing')
    .option('--list', 'only say what waits for which server')
    .option('--json', 'print JSON')
    .action(async (opts: { from?: string; drop?: string; list?: boolean; json?: boolean }) => {
      const json = !!opts.json;
      if (opts.drop !== undefined) {
        const url = opts.drop.replace(/\/$/, '');
        const dropped = dropSpooled(url);
        print(json, { dropped: { url, what: dropped } }, () => (dropped.length === 0 ? `nothing recorded locally for ${url}` : `dropped ${dropped.length} result(s) meant for ${url}: ${dropped.join(', ')}`));
        return;
      }
      const waiting = waitingByUrl();
      if (waiting.length === 0 || opts.list) {
        print(json, { waiting }, () => (waiting.length === 0 ? 'nothing recorded locally: everything was delivered' : elsewhereText(waiting, serverUrl(configFrom(program).config))));
        return;
      }
      await withConnection(
        program,
        async (c) => {
          // With no server (the data directory opened here), only what is named with --from goes into it.
          const report = await sendSpooled(c, spoolDir(), opts.from?.replace(/\/$/, '') ?? (c.mode === 'server' ? c.url : undefined));
          print(json, { sent: report.sent, refused: report.refused, left: report.left, waiting: report.elsewhere }, () => syncText(report, c.mode === 'server' ? c.url : `the data directory ${configFrom(program).config.server.data_dir}`));
          if (report.left > 0) process.exitCode = 69;
        },
        { sendSpool: false },
      );
    });
}

function syncText(report: SyncReport, here: string): string {
  const lines = [
    report.sent.length === 0 ? `nothing to send to ${here}` : `sent ${report.sent.length} result(s) to ${here}: ${report.sent.map((s) => s.what).join(', ')}`,
    ...report.refused.map((r) => `refused (${r.what}): ${r.message}; kept in ${r.kept_as}`),
    ...(report.left > 0 ? [`${report.left} result(s) still recorded locally: ${here} stopped answering; run bmo sync again`] : []),
  ];
  if (report.elsewhere.length > 0) lines.push(elsewhereText(report.elsewhere, here));
  return lines.join('\n');
}
