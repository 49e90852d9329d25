import type { Command } from 'commander';
import { ensureOk } from '../connect.js';
import { deliver } from '../deliver.js';
import { print } from '../shell.js';
import { path, SESSION_HELP, sessionHeader, sessionOf, type Connected } from './shared.js';

/** `bmo workstream finding|artifact|marker add|clear`: what the work found, made and left for the next turn. */
export function registerEvidenceCommands(program: Command, workstream: Command, connected: Connected): void {
  workstream
    .command('finding <id> <text...>')
    .description('record a finding (review result, gap, risk)')
    .option('--severity <severity>', 'info, low, medium, high or critical', 'medium')
    .option('--path <path>', 'where it is')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, text: string[], opts: { severity: string; path?: string; session?: string; json?: boolean }) => {
      const body = { severity: opts.severity, text: text.join(' '), ...(opts.path !== undefined ? { path: opts.path } : {}) };
      const result: { finding_id: string } | undefined = await deliver(program, { method: 'POST', path: path(id, '/findings'), body, headers: sessionHeader(sessionOf(opts)), what: `finding on ${id}` });
      if (result) print(!!opts.json, result, () => `finding ${result.finding_id} recorded on ${id} (${opts.severity})`);
    });

  workstream
    .command('artifact <id> <ref>')
    .description('attach an artifact: a path or a URL')
    .option('--kind <kind>', 'what it is (default: url for URLs, file otherwise)')
    .option('--digest <digest>', 'e.g. sha256:…')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, ref: string, opts: { kind?: string; digest?: string; session?: string; json?: boolean }) =>
      connected(async (c) => {
        const kind = opts.kind ?? (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ? 'url' : 'file');
        const result: { artifact_id: string } = ensureOk(await c.request('POST', path(id, '/artifacts'), { ref, kind, ...(opts.digest ? { digest: opts.digest } : {}) }, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `artifact ${result.artifact_id} (${kind}) attached to ${id}`);
      }),
    );

  registerMarkerCommands(workstream, connected);
}

function registerMarkerCommands(workstream: Command, connected: Connected): void {
  const marker = workstream.command('marker').description('markers: bounded notes on a path for the next turn ("inspect here before editing")');
  marker
    .command('add <id>')
    .description('leave a marker on a path: --path and --note are both required')
    .requiredOption('--path <path>', 'the path')
    .requiredOption('--note <note>', 'what to know about it (required)')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { path: string; note: string; session?: string; json?: boolean }) =>
      connected(async (c) => {
        const result: { marker_id: string } = ensureOk(await c.request('POST', path(id, '/markers'), { path: opts.path, note: opts.note }, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `marker ${result.marker_id} added on ${opts.path}`);
      }),
    );
  marker
    .command('clear <id> <marker-id>')
    .description('clear a marker')
    .option('--reason <reason>', 'why')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, markerId: string, opts: { reason?: string; session?: string; json?: boolean }) =>
      connected(async (c) => {
        const body = opts.reason ? { reason: opts.reason } : {};
        const result = ensureOk(await c.request('POST', path(id, `/markers/${encodeURIComponent(markerId)}/clear`), body, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `marker ${markerId} cleared`);
      }),
    );
}
