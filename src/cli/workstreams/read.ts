import { Option, type Command } from 'commander';
import { ensureOk, requestAll } from '../connect.js';
import { asOfFlag, asOfHeader, asOfQuery, print, wholeNumber } from '../shell.js';
import { cartographyText, listText, showText, statusText, type CartographyReply, type ListReply, type ShowReply, type StatusReply } from './render.js';
import { path, type Connected } from './shared.js';

/** `bmo workstream list|status|show|handoff`: reading a workstream, from one row each to everything. */
export function registerReadCommands(workstream: Command, connected: Connected): void {
  workstream
    .command('list')
    .description('every workstream, one row each')
    .option('--status <status>', 'only those with this status')
    .option('--session <id>', 'only those whose events carry this session, most recent first')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; session?: string; json?: boolean }) =>
      connected(async (c) => {
        const query = new URLSearchParams({ ...(opts.status ? { status: opts.status } : {}), ...(opts.session ? { session: opts.session } : {}) }).toString();
        const result: ListReply = await requestAll(c, `/v1/workstreams${query ? `?${query}` : ''}`, 'workstreams');
        print(!!opts.json, result, () => listText(result));
      }),
    );

  workstream
    .command('status <id>')
    .description('bounded summary: identity, bindings, last verify, verify/preflight/nanite posture, counts, where to drill in')
    .option('--json', 'print JSON')
    .addOption(asOfFlag())
    .action(async (id: string, opts: { json?: boolean; asOf?: string }) =>
      connected(async (c) => {
        const result: StatusReply = ensureOk(await c.request('GET', path(id, `/status${asOfQuery(opts.asOf)}`)));
        print(!!opts.json, result, () => asOfHeader(statusText(result), opts.asOf));
      }),
    );

  workstream
    .command('show <id>')
    .description('the raw durable row and everything attached to it')
    .option('--json', 'print JSON (the full row, with output tails and handoff texts)')
    .addOption(asOfFlag())
    .action(async (id: string, opts: { json?: boolean; asOf?: string }) =>
      connected(async (c) => {
        const result: ShowReply = ensureOk(await c.request('GET', path(id, asOfQuery(opts.asOf))));
        print(!!opts.json, result, () => asOfHeader(showText(result), opts.asOf));
      }),
    );

  workstream
    .command('handoff <id>')
    .description('the inspectable handoff: plan, boundary, lane results, findings, verification, artifacts, open markers, status, next steps')
    .addOption(new Option('--format <format>', 'md or json').choices(['md', 'json']).default('md'))
    .option('--json', 'print JSON (same as --format json)')
    .option('--full', 'everything: no section capped, no text clipped (the default is compact, at most 16 KB of markdown)')
    .addOption(asOfFlag())
    .action(async (id: string, opts: { format: 'md' | 'json'; json?: boolean; full?: boolean; asOf?: string }) =>
      connected(async (c) => {
        const full = `${opts.full ? '&full=true' : ''}${asOfQuery(opts.asOf, '&')}`;
        if (opts.json || opts.format === 'json') {
          print(true, ensureOk(await c.request('GET', path(id, `/handoff?format=json${full}`))), () => '');
          return;
        }
        const result = ensureOk(await c.request('GET', path(id, `/handoff?format=md${full}`)));
        process.stdout.write(String(result));
      }),
    );
}

/** `bmo cartography`: heat, open markers and the trail across every workstream. */
export function registerCartographyCommand(program: Command, connected: Connected): void {
  program
    .command('cartography')
    .description('heat per workstream and path, open markers, and the trail (advisory signals across sessions)')
    .option('--limit <n>', 'at most this many rows per list', wholeNumber('--limit', 1), 100)
    .option('--json', 'print JSON')
    .action(async (opts: { limit: number; json?: boolean }) =>
      connected(async (c) => {
        const result: CartographyReply = ensureOk(await c.request('GET', `/v1/cartography?limit=${opts.limit}`));
        print(!!opts.json, result, () => cartographyText(result));
      }),
    );
}
