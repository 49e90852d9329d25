import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { BmoError } from '../../errors.js';
import { ensureOk } from '../connect.js';
import { gitContextOrSay } from '../git.js';
import { print } from '../shell.js';
import { path, SESSION_HELP, sessionHeader, sessionOf, type Connected } from './shared.js';

/** `bmo workstream create`. */
export function registerCreateCommand(workstream: Command, connected: Connected): void {
  workstream
    .command('create')
    .description('create a workstream')
    .requiredOption('--label <label>', 'what it is, e.g. docs/book-visual-coverage')
    .option('--goal <goal>', 'what it is for, kept with it and shown by status and the handoff')
    .option('--id <id>', 'its id (default: generated)')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .option('--quiet', 'print only the id')
    .action(async (opts: { label: string; goal?: string; id?: string; session?: string; json?: boolean; quiet?: boolean }) => {
      const git = gitContextOrSay(!!opts.json || !!opts.quiet);
      await connected(async (c) => {
        const body = { label: opts.label, ...(opts.goal ? { goal: opts.goal } : {}), ...(opts.id ? { id: opts.id } : {}), ...(git ? { git } : {}) };
        const result: { workstream_id: string } = ensureOk(await c.request('POST', '/v1/workstreams', body, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => (opts.quiet ? result.workstream_id : `created workstream ${result.workstream_id} "${opts.label}"${git ? ` on ${git.branch ?? 'a detached HEAD'} at ${git.commit.slice(0, 12)}` : ''}`));
      });
    });
}

/** `bmo workstream set-plan|boundary`: what the work follows, and with whom. */
export function registerBindingCommands(workstream: Command, connected: Connected): void {
  workstream
    .command('set-plan <id>')
    .description('bind the plan, recipe, prompt or staged workflow the work follows')
    .requiredOption('--path <path>', 'the plan file (or recipe/prompt reference)')
    .option('--kind <kind>', 'custom, recipe, prompt or staged', 'custom')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { path: string; kind: string; session?: string; json?: boolean }) => {
      const git = gitContextOrSay(!!opts.json);
      // A plan that is not written yet is fine to bind; said, so a typo does not go unseen.
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(opts.path) && !existsSync(opts.path)) process.stderr.write(`bmo: warning: ${opts.path} does not exist here (bound anyway)\n`);
      await connected(async (c) => {
        const result: { version: number } = ensureOk(await c.request('PUT', path(id, '/plan'), { path: opts.path, kind: opts.kind, ...(git ? { git } : {}) }, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `workstream ${id}: plan bound to ${opts.kind} ${opts.path} (version ${result.version})`);
      });
    });

  workstream
    .command('boundary <id> <boundary>')
    .description('declare the collaboration boundary: parent-only, child-agent, nanite, team, mesh-a2a-proposal, full-app-shared-workspace, minimal-mcp')
    .option('--team <team-id>', 'the team (with boundary "team")')
    .option('--note <note>', 'why')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, boundary: string, opts: { team?: string; note?: string; session?: string; json?: boolean }) => {
      if ((boundary === 'team') !== (opts.team !== undefined)) {
        throw new BmoError('invalid_body', boundary === 'team' ? 'boundary team needs the team: --team <team-id> (bmo team list lists them)' : `--team goes with boundary team only, not with ${boundary}`, { field: 'team' });
      }
      await connected(async (c) => {
        const body = { boundary, ...(opts.team ? { team_id: opts.team } : {}), ...(opts.note ? { note: opts.note } : {}) };
        const result: { version: number } = ensureOk(await c.request('PUT', path(id, '/boundary'), body, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `workstream ${id}: boundary ${boundary}${opts.team ? ` (team ${opts.team})` : ''} (version ${result.version})`);
      });
    });
}

/** `bmo workstream set-status`: the outcome. */
export function registerSetStatusCommand(workstream: Command, connected: Connected): void {
  workstream
    .command('set-status <id> <status>')
    .description('set the outcome: active, completed, partial, blocked, superseded or unavailable')
    .option('--reason <reason>', 'why (needed with --force, and recorded with it)')
    .option('--force', 'complete it although the preflight is not ready (with --reason)')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, status: string, opts: { reason?: string; force?: boolean; session?: string; json?: boolean }) =>
      connected(async (c) => {
        if (opts.force && !opts.reason) throw new BmoError('bad_request', '--force needs --reason "…": why it is done although the preflight is not, recorded with it', { field: 'reason' });
        const body = { status, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.force ? { force: true } : {}) };
        const result = ensureOk(await c.request('PUT', path(id, '/status'), body, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `workstream ${id} is ${status}`);
      }),
    );
}
