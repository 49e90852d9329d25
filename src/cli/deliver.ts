import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { BmoError } from '../errors.js';
import { ensureOk, serverUrl } from './connect.js';
import { configFrom, print, withConnection } from './shell.js';
import { spool, spooledNames } from './spool.js';

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
  return error instanceof TypeError; // fetch: the connection was refused or broke off
}

/**
 * Delivers a result (a verify run, a nanite's outcome, a finding…) with an Idempotency-Key. When
 * the server cannot be reached it is spooled on this machine, to be sent by the next command that
 * reaches the server or by `bmo sync`; answers the server's reply, or undefined when spooled.
 */
export async function deliver(program: Command, delivery: Delivery): Promise<any | undefined> {
  const headers = { 'idempotency-key': randomUUID(), ...delivery.headers };
  try {
    let reply: any;
    await withConnection(program, async (c) => void (reply = ensureOk(await c.request(delivery.method, delivery.path, delivery.body, headers))));
    return reply;
  } catch (error) {
    const { config } = configFrom(program);
    // Only for a server that was named: with none, the CLI records into the data directory itself.
    if (!undelivered(error) || !config.server.url) throw error;
    const url = serverUrl(config);
    const name = spool({ method: delivery.method, path: delivery.path, body: delivery.body, headers, what: delivery.what, url });
    process.stderr.write(`bmo: ${(error as Error).message}\nbmo: ${delivery.what}: recorded locally (${name}); will be sent by the next bmo command that reaches ${url}, or by bmo sync\n`);
    return undefined;
  }
}

/** `bmo sync`: sends the results recorded locally while the server could not be reached. */
export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('send the results recorded locally while the server could not be reached (each with its Idempotency-Key, so none is recorded twice)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      if (spooledNames().length === 0) {
        print(!!opts.json, { sent: [], refused: [], left: 0 }, () => 'nothing recorded locally: everything was delivered');
        return;
      }
      // withConnection sends the spool before the verb runs; what is left is what it could not send.
      await withConnection(program, async () => {});
      const left = spooledNames().length;
      print(!!opts.json, { left }, () => (left === 0 ? 'all results recorded locally were sent' : `${left} result(s) still recorded locally`));
      if (left > 0) process.exitCode = 69;
    });
}
