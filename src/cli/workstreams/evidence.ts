import type { Command } from 'commander';
import { deliverAndPrint } from '../deliver.js';
import { path, SESSION_HELP, sessionHeader, sessionOf } from './shared.js';

/** `bmo workstream finding|artifact|marker add|clear`: what the work found, made and left for the next turn. */
export function registerEvidenceCommands(program: Command, workstream: Command): void {
  workstream
    .command('finding <id> <text...>')
    .description('record a finding (review result, gap, risk)')
    .option('--severity <severity>', 'info, low, medium, high or critical', 'medium')
    .option('--path <path>', 'where it is')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, text: string[], opts: { severity: string; path?: string; session?: string; json?: boolean }) => {
      const body = { severity: opts.severity, text: text.join(' '), ...(opts.path !== undefined ? { path: opts.path } : {}) };
      const delivery = { method: 'POST', path: path(id, '/findings'), body, headers: sessionHeader(sessionOf(opts)), what: `finding on ${id}` };
      await deliverAndPrint(program, delivery, !!opts.json, (r: { finding_id: string }) => `finding ${r.finding_id} recorded on ${id} (${opts.severity})`);
    });

  workstream
    .command('artifact <id> <ref>')
    .description('attach an artifact: a path or a URL')
    .option('--kind <kind>', 'what it is (default: url for URLs, file otherwise)')
    .option('--digest <digest>', 'e.g. sha256:…')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, ref: string, opts: { kind?: string; digest?: string; session?: string; json?: boolean }) => {
      const kind = opts.kind ?? (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ? 'url' : 'file');
      const body = { ref, kind, ...(opts.digest ? { digest: opts.digest } : {}) };
      const delivery = { method: 'POST', path: path(id, '/artifacts'), body, headers: sessionHeader(sessionOf(opts)), what: `artifact ${ref} on ${id}` };
      await deliverAndPrint(program, delivery, !!opts.json, (r: { artifact_id: string }) => `artifact ${r.artifact_id} (${kind}) attached to ${id}`);
    });

  registerMarkerCommands(program, workstream);
}

/** Markers go through deliver, as the other results do: spooled when their server cannot be reached. */
function registerMarkerCommands(program: Command, workstream: Command): void {
  const marker = workstream.command('marker').description('markers: bounded notes on a path for the next turn ("inspect here before editing")');
  marker
    .command('add <id>')
    .description('leave a marker on a path: --path and --note are both required')
    .requiredOption('--path <path>', 'the path')
    .requiredOption('--note <note>', 'what to know about it (required)')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { path: string; note: string; session?: string; json?: boolean }) => {
      const delivery = { method: 'POST', path: path(id, '/markers'), body: { path: opts.path, note: opts.note }, headers: sessionHeader(sessionOf(opts)), what: `marker on ${opts.path} in ${id}` };
      await deliverAndPrint(program, delivery, !!opts.json, (r: { marker_id: string }) => `marker ${r.marker_id} added on ${opts.path}`);
    });
  marker
    .command('clear <id> <marker-id>')
    .description('clear a marker')
    .option('--reason <reason>', 'why')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, markerId: string, opts: { reason?: string; session?: string; json?: boolean }) => {
      const body = opts.reason ? { reason: opts.reason } : {};
      const delivery = { method: 'POST', path: path(id, `/markers/${encodeURIComponent(markerId)}/clear`), body, headers: sessionHeader(sessionOf(opts)), what: `clearing marker ${markerId} in ${id}` };
      await deliverAndPrint(program, delivery, !!opts.json, () => `marker ${markerId} cleared`);
    });
}
