import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Id } from '../../events/index.js';
import { formatIssues } from '../../events/parse.js';
import { workstreamEvents } from '../../events/workstreams.js';
import { gitWords } from '../../projections/handoff.js';
import { commandLine } from '../../projections/workstream.js';
import { BmoError } from '../errors.js';
import { MAX_KEPT_BYTES, runBounded, shellExitCode, type BoundedRunResult } from './bounded-run.js';
import { ensureOk, requestAll, type Connection } from './connect.js';
import { section, table } from './format.js';
import { deliver } from './deliver.js';
import { gitContextOrSay } from './git.js';
import { announceLane, detachLane, laneRunner } from './nanite-lanes.js';
import { runVerify } from './verify.js';
import { asOfOption, asOfQuery, configFrom, EXIT, print, wholeNumber, withConnection } from './shell.js';


const path = (id: string, rest = '') => `/v1/workstreams/${encodeURIComponent(id)}${rest}`;
const sessionHeader = (session: string | undefined): Record<string, string> => (session ? { 'x-session-id': session } : {});
const SESSION_HELP = 'the session doing it (default $BMO_SESSION_ID); the workstream then carries it, which is how nanite run --session finds it';

/** Checks a value with the catalogue's schema before anything runs, so a bad one never costs a run. */
function check<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: any } }, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new BmoError('invalid_body', formatIssues(result.error, field).message, { field });
  return result.data;
}

/** The session a workstream verb writes as: `--session`, else $BMO_SESSION_ID (an empty one is unset). */
function sessionOf(opts: { session?: string }): string | undefined {
  const session = opts.session ?? (process.env.BMO_SESSION_ID || undefined);
  return session === undefined ? undefined : check(Id, session, 'session');
}

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

function resultText(run: { exit_code: number | null; signal: string | null; timed_out: boolean }): string {
  if (run.timed_out) return `timed out${run.signal ? ` (${run.signal})` : ''}`;
  if (run.exit_code !== null) return `exit ${run.exit_code}`;
  return run.signal ? `killed by ${run.signal}` : 'no exit code';
}

/** A verify run or a nanite's outcome as one line. */
function runLine(run: BoundedRunResult, maxBytes: number): string {
  const kept = run.truncated ? `output ${kb(run.output_bytes)}, kept the last ${kb(Math.min(maxBytes, MAX_KEPT_BYTES))} (truncated)` : `output ${kb(run.output_bytes)}`;
  return `${resultText(run)} in ${seconds(run.duration_ms)}; ${kept}`;
}

/** The nanite outcome a run comes to. */
export function naniteOutcome(run: BoundedRunResult): 'completed' | 'failed' | 'timeout' | 'partial' {
  if (run.timed_out) return 'timeout';
  if (run.interrupted) return 'partial';
  if (run.exit_code === 0) return run.truncated ? 'partial' : 'completed';
  return 'failed';
}

function statusText(s: any): string {
  const check = (c: any) => `${c.ok ? 'ok  ' : 'todo'}  ${c.check.padEnd(20)} ${c.detail}`;
  const lv = s.last_verify;
  return [
    `workstream ${s.workstream_id} "${s.label}": ${s.status}${s.status_reason ? ` (${s.status_reason})` : ''}, version ${s.version}`,
    ...(s.goal ? [`goal:      ${s.goal}`] : []),
    `git:       ${s.git ? gitWords(s.git) : 'no git context recorded'}`,
    `plan:      ${s.bindings.plan ? `${s.bindings.plan.kind} ${s.bindings.plan.path}` : 'none bound'}`,
    `boundary:  ${s.bindings.boundary ? `${s.bindings.boundary.boundary}${s.bindings.boundary.team_id ? ` (team ${s.bindings.boundary.team_id})` : ''}` : 'not declared'}`,
    `verify:    ${s.verify.posture}; ${s.verify.runs} run(s), ${s.verify.passed} passed, ${s.verify.failed} failed, ${s.verify.consecutive_failures} failing in a row`,
    `  last:    ${lv ? `${lv.passed ? 'passed' : 'FAILED'} \`${commandLine(lv.argv)}\` ${resultText(lv)} in ${seconds(lv.duration_ms)}${lv.truncated ? ', output truncated' : ''} at ${lv.at}` : 'never'}`,
    `nanites:   ${s.nanites.posture}; ${s.nanites.total} total, ${s.nanites.running} running, ${s.nanites.completed} completed, ${s.nanites.failed} failed, ${s.nanites.timeout} timed out, ${s.nanites.partial} partial`,
    `counts:    ${s.counts.findings} finding(s), ${s.counts.artifacts} artifact(s), ${s.counts.markers_open} open marker(s), ${s.counts.events} event(s)`,
    section(`preflight: ${s.preflight.ready ? 'ready' : 'not ready'}`, s.preflight.checks.map(check).join('\n')),
    section(
      'drill in',
      Object.entries(s.drill_in)
        .map(([name, d]: [string, any]) => `${name.padEnd(12)} ${d.verb}${d.count !== undefined ? ` (${d.count})` : ''}`)
        .join('\n'),
    ),
  ].join('\n');
}

function showText(w: any): string {
  return [
    `workstream ${w.workstream_id} "${w.label}": ${w.status}${w.status_reason ? ` (${w.status_reason})` : ''}, version ${w.version}, created ${w.created_at}, updated ${w.updated_at}`,
    ...(w.goal ? [`goal: ${w.goal}`] : []),
    `git: ${w.git ? gitWords(w.git) : 'no git context recorded'}`,
    `plan: ${w.plan ? `${w.plan.kind} ${w.plan.path} (bound ${w.plan.bound_at})` : 'none'}; boundary: ${w.boundary ? w.boundary.boundary : 'none'}; recipe: ${w.recipe.map((r: any) => r.step).join(', ') || 'none'}; sessions: ${w.sessions.join(', ') || 'none'}`,
    section(
      `verify runs (${w.verify_runs.length})`,
      w.verify_runs.length === 0 ? 'none' : table(['RUN', 'RESULT', 'MS', 'TRUNC', 'AT', 'COMMAND'], w.verify_runs.map((r: any) => [r.run_id, resultText(r), r.duration_ms, r.truncated ? 'yes' : 'no', r.recorded_at, commandLine(r.argv)])),
    ),
    section(
      `nanites (${w.nanites.length})`,
      w.nanites.length === 0 ? 'none' : table(['NANITE', 'STATE', 'SESSION', 'STARTED', 'PROMPT'], w.nanites.map((n: any) => [n.nanite_id, n.state, n.session_id, n.started_at, n.prompt.slice(0, 60)])),
    ),
    section(`findings (${w.findings.length})`, w.findings.length === 0 ? 'none' : table(['FINDING', 'SEVERITY', 'PATH', 'TEXT'], w.findings.map((f: any) => [f.finding_id, f.severity, f.path, f.text.slice(0, 80)]))),
    section(`artifacts (${w.artifacts.length})`, w.artifacts.length === 0 ? 'none' : table(['ARTIFACT', 'KIND', 'DIGEST', 'REF'], w.artifacts.map((a: any) => [a.artifact_id, a.kind, a.digest, a.ref]))),
    section(
      `markers (${w.markers.length})`,
      w.markers.length === 0 ? 'none' : table(['MARKER', 'OPEN', 'PATH', 'NOTE'], w.markers.map((m: any) => [m.marker_id, m.cleared_at ? 'cleared' : 'open', m.path, m.note.slice(0, 80)])),
    ),
    `(the full row with output tails and handoff texts: bmo workstream show ${w.workstream_id} --json)`,
  ].join('\n');
}

function cartographyText(c: any): string {
  return [
    section(
      'heat: workstreams',
      c.heat.workstreams.length === 0
        ? 'none'
        : table(['WORKSTREAM', 'EVENTS', 'VERIFY', 'FAILED', 'NANITES', 'FINDINGS', 'MARKERS', 'LAST', 'LABEL'], c.heat.workstreams.map((w: any) => [w.workstream_id, w.events, w.verify_runs, w.verify_failures, w.nanites, w.findings, w.markers_added, w.last_at, w.label])),
    ),
    section(
      'heat: paths',
      c.heat.paths.length === 0 ? 'none' : table(['HITS', 'PLANS', 'FINDINGS', 'ARTIFACTS', 'MARKERS', 'OPEN', 'PATH'], c.heat.paths.map((p: any) => [p.hits, p.plans, p.findings, p.artifacts, p.markers_added, p.markers_open, p.path])),
    ),
    section('open markers', c.markers.length === 0 ? 'none' : table(['WORKSTREAM', 'MARKER', 'PATH', 'NOTE'], c.markers.map((m: any) => [m.workstream_id, m.marker_id, m.path, m.note]))),
    section('trail', c.trail.length === 0 ? 'nothing yet' : c.trail.map((t: any) => `${t.kind}: ${t.hint}`).join('\n')),
  ].join('\n');
}

/**
 * Why `nanite run` found no workstream for the session, and what to pass instead. Never a guess:
 * the only workstream there is may still not be the one this session works on, so it is named, not used.
 */
async function noWorkstreamFor(c: Connection, session: string): Promise<BmoError> {
  const all: { workstream_id: string }[] = (await requestAll(c, '/v1/workstreams', 'workstreams')).workstreams;
  const which =
    all.length === 0
      ? `there are no workstreams yet: bmo workstream create --label L --session ${session}`
      : all.length === 1
        ? `the only workstream is ${all[0].workstream_id}: pass --workstream ${all[0].workstream_id}`
        : `pass --workstream <id> (one of the ${all.length}: bmo workstream list)`;
  return new BmoError(
    'not_found',
    `no workstream carries session ${session}; ${which}, or set BMO_WORKSTREAM. A workstream carries the sessions that wrote to it: give --session ${session} (or BMO_SESSION_ID=${session}) to workstream create, set-plan, verify-run and the other workstream verbs`,
    { field: 'workstream' },
  );
}

/** `bmo workstream …`, `bmo nanite run`, `bmo cartography`. */
export function registerWorkstreamCommands(program: Command): void {
  const connected = (run: (connection: Connection) => Promise<void>) => withConnection(program, run);
  const workstream = program
    .command('workstream')
    .description('workstreams: the durable row of a unit of work, its plan, verify runs, nanites, findings, artifacts, markers and handoff')
    // verify-run passes everything after the command name to the command (`pnpm --dir docs run build`).
    .enablePositionalOptions();

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
        const result = ensureOk(await c.request('POST', '/v1/workstreams', body, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => (opts.quiet ? result.workstream_id : `created workstream ${result.workstream_id} "${opts.label}"${git ? ` on ${git.branch ?? 'a detached HEAD'} at ${git.commit.slice(0, 12)}` : ''}`));
      });
    });

  workstream
    .command('list')
    .description('every workstream, one row each')
    .option('--status <status>', 'only those with this status')
    .option('--session <id>', 'only those whose events carry this session, most recent first')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; session?: string; json?: boolean }) =>
      connected(async (c) => {
        const query = new URLSearchParams({ ...(opts.status ? { status: opts.status } : {}), ...(opts.session ? { session: opts.session } : {}) }).toString();
        const result = await requestAll(c, `/v1/workstreams${query ? `?${query}` : ''}`, 'workstreams');
        print(!!opts.json, result, () =>
          result.workstreams.length === 0
            ? 'no workstreams (create one with bmo workstream create --label L)'
            : table(
                ['WORKSTREAM', 'STATUS', 'PLAN', 'LAST VERIFY', 'RUNS', 'NANITES', 'FINDINGS', 'MARKERS', 'LABEL'],
                result.workstreams.map((w: any) => [
                  w.workstream_id,
                  w.status,
                  w.plan ? `${w.plan.kind}:${w.plan.path}` : undefined,
                  w.last_verify ? (w.last_verify.passed ? 'passed' : `failed (${w.last_verify.exit_code ?? 'signal'})`) : undefined,
                  w.counts.verify_runs,
                  w.counts.nanites,
                  w.counts.findings,
                  w.counts.open_markers,
                  w.label,
                ]),
              ),
        );
      }),
    );

  workstream
    .command('status <id>')
    .description('bounded summary: identity, bindings, last verify, verify/preflight/nanite posture, counts, where to drill in')
    .option('--json', 'print JSON')
    .option('--as-of <pos|time>', 'as it was once the log reached this position, or at this ISO-8601 time', asOfOption)
    .action(async (id: string, opts: { json?: boolean; asOf?: string }) =>
      connected(async (c) => {
        const result = ensureOk(await c.request('GET', path(id, `/status${asOfQuery(opts.asOf)}`)));
        print(!!opts.json, result, () => `${opts.asOf ? `as of ${opts.asOf}: ` : ''}${statusText(result)}`);
      }),
    );

  workstream
    .command('show <id>')
    .description('the raw durable row and everything attached to it')
    .option('--json', 'print JSON (the full row, with output tails and handoff texts)')
    .action(async (id: string, opts: { json?: boolean }) =>
      connected(async (c) => {
        const result = ensureOk(await c.request('GET', path(id)));
        print(!!opts.json, result, () => showText(result));
      }),
    );

  workstream
    .command('handoff <id>')
    .description('the inspectable handoff: plan, boundary, lane results, findings, verification, artifacts, open markers, status, next steps')
    .addOption(new Option('--format <format>', 'md or json').choices(['md', 'json']).default('md'))
    .option('--json', 'print JSON (same as --format json)')
    .option('--full', 'everything: no section capped, no text clipped (the default is compact, at most 16 KB of markdown)')
    .action(async (id: string, opts: { format: 'md' | 'json'; json?: boolean; full?: boolean }) =>
      connected(async (c) => {
        const full = opts.full ? '&full=true' : '';
        if (opts.json || opts.format === 'json') {
          print(true, ensureOk(await c.request('GET', path(id, `/handoff?format=json${full}`))), () => '');
          return;
        }
        const result = ensureOk(await c.request('GET', path(id, `/handoff?format=md${full}`)));
        process.stdout.write(String(result));
      }),
    );

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
        const result = ensureOk(await c.request('PUT', path(id, '/plan'), { path: opts.path, kind: opts.kind, ...(git ? { git } : {}) }, sessionHeader(sessionOf(opts))));
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
        const result = ensureOk(await c.request('PUT', path(id, '/boundary'), body, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `workstream ${id}: boundary ${boundary}${opts.team ? ` (team ${opts.team})` : ''} (version ${result.version})`);
      });
    });

  workstream
    .command('verify-run')
    .description('run a verification command here (not on the server), stream its output, record the result; exits with the command\'s code')
    .argument('<id>', 'the workstream')
    .argument('[cmd...]', 'the command: every word from here on is its own, options and -- included')
    .option('--again', 'run the last verify run\'s command again')
    .option('--timeout <ms>', 'stop it after this long (default [verify] timeout_ms)', wholeNumber('--timeout', 1))
    .option('--max-output <bytes>', `keep at most this much of the output tail (default [verify] max_output_bytes, at most ${MAX_KEPT_BYTES})`, wholeNumber('--max-output', 1, MAX_KEPT_BYTES))
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print the recorded run as JSON (the command\'s output then goes to stderr)')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (id: string, cmd: string[], opts: { again?: boolean; timeout?: number; maxOutput?: number; session?: string; json?: boolean }) => {
      // The `--` that set the command apart, when commander leaves it in (it does after options).
      const words = cmd[0] === '--' ? cmd.slice(1) : cmd;
      if (opts.again && words.length > 0) throw new BmoError('bad_request', '--again runs the last command again: give it no command', { field: 'cmd' });
      const session = sessionOf(opts);
      let argv = opts.again ? [] : check(workstreamEvents.verify_run_recorded.shape.argv, words, 'argv');
      // Refuse before running when the workstream is not there; the store is let go while the command runs.
      await connected(async (c) => {
        const last = ensureOk(await c.request('GET', path(id, '/status'))).last_verify;
        if (!opts.again) return;
        if (!last) throw new BmoError('not_found', `no verify run on ${id} to run again: bmo workstream verify-run ${id} CMD…`, { field: 'again' });
        argv = last.argv;
      });
      if (opts.again && !opts.json) process.stderr.write(`bmo: again: ${commandLine(argv)}\n`);
      const { code } = await runVerify(program, id, argv, { ...opts, session });
      process.exitCode = code;
    });

  workstream
    .command('finding <id> <text...>')
    .description('record a finding (review result, gap, risk)')
    .option('--severity <severity>', 'info, low, medium, high or critical', 'medium')
    .option('--path <path>', 'where it is')
    .option('--session <id>', SESSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, text: string[], opts: { severity: string; path?: string; session?: string; json?: boolean }) => {
      const body = { severity: opts.severity, text: text.join(' '), ...(opts.path !== undefined ? { path: opts.path } : {}) };
      const result = await deliver(program, { method: 'POST', path: path(id, '/findings'), body, headers: sessionHeader(sessionOf(opts)), what: `finding on ${id}` });
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
        const result = ensureOk(await c.request('POST', path(id, '/artifacts'), { ref, kind, ...(opts.digest ? { digest: opts.digest } : {}) }, sessionHeader(sessionOf(opts))));
        print(!!opts.json, result, () => `artifact ${result.artifact_id} (${kind}) attached to ${id}`);
      }),
    );

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
        const result = ensureOk(await c.request('POST', path(id, '/markers'), { path: opts.path, note: opts.note }, sessionHeader(sessionOf(opts))));
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

  const nanite = program.command('nanite').description('nanites: bounded side-lane runs of a configured agent CLI');

  nanite
    .command('close <id> <nanite-id>')
    .description('close a nanite that started and never reported back (its CLI was killed): it no longer holds up the preflight')
    .addOption(new Option('--outcome <outcome>', 'how it ended').choices(['partial', 'failed']).default('partial'))
    .option('--note <note>', 'what is known of it (goes into its handoff)')
    .option('--json', 'print JSON')
    .action(async (id: string, naniteId: string, opts: { outcome: 'partial' | 'failed'; note?: string; json?: boolean }) =>
      connected(async (c) => {
        const run = ensureOk(await c.request('GET', path(id, `/nanites/${encodeURIComponent(naniteId)}`)));
        const started = Date.parse(run.started_at);
        const body = {
          outcome: opts.outcome,
          handoff: opts.note ?? 'closed by hand: the run that started it never reported back',
          exit_code: null,
          duration_ms: Number.isFinite(started) ? Math.max(0, Date.now() - started) : 0,
        };
        const result = ensureOk(await c.request('POST', path(id, `/nanites/${encodeURIComponent(naniteId)}/complete`), body));
        print(!!opts.json, result, () => `nanite ${naniteId} on workstream ${id} closed as ${opts.outcome}`);
      }),
    );

  nanite
    .command('run')
    .description('run the [nanite] command here with the prompt on its stdin, bounded in time and output; record it on the workstream')
    .argument('<prompt...>', 'what the nanite should do')
    .option('--session <parent-session-id>', 'the parent session delegating the lane (default $BMO_SESSION_ID)')
    .option('--workstream <id>', 'the workstream (default $BMO_WORKSTREAM, else the most recent one carrying the session)')
    .option('--timeout <ms>', 'stop it after this long (default [nanite] timeout_ms)', wholeNumber('--timeout', 1))
    .option('--detach', 'answer the nanite id at once and run the lane in its own process group (bmo nanite status|wait|logs)')
    .option('--json', 'print the recorded result as JSON (the nanite\'s output then goes to stderr)')
    .action(async (words: string[], opts: { session?: string; workstream?: string; timeout?: number; detach?: boolean; json?: boolean }) => {
      if (opts.detach) {
        const lane = await detachLane(process.argv.slice(1));
        if (!lane.naniteId) {
          process.stderr.write(`bmo: the lane did not start (exit ${lane.code}); its output: ${lane.log}\n`);
          process.exitCode = lane.code ?? 1;
          return;
        }
        print(!!opts.json, { nanite_id: lane.naniteId, log: lane.log }, () => lane.naniteId!);
        return;
      }
      const { config, files } = configFrom(program);
      const executor = config.nanite.command;
      if (!executor) {
        process.stderr.write(
          [
            'bmo: no nanite executor is configured, so there is nothing to run.',
            'Name the agent CLI that takes a prompt on stdin in bmo.toml, for example:',
            '',
            '  [nanite]',
            '  command = ["my-agent", "--print"]',
            '  timeout_ms = 600000',
            '',
            `(config files read: ${files.join(', ') || 'none'})`,
            '',
          ].join('\n'),
        );
        process.exitCode = EXIT.config;
        return;
      }
      const prompt = check(workstreamEvents.nanite_started.shape.prompt, words.join(' '), 'prompt');
      const session = sessionOf(opts);
      if (session === undefined) throw new BmoError('bad_request', 'nanite run needs the parent session: pass --session <id> or set BMO_SESSION_ID', { field: 'session' });
      const maxBytes = Math.min(config.nanite.max_output_bytes, MAX_KEPT_BYTES);
      let workstreamId = opts.workstream ?? process.env.BMO_WORKSTREAM;
      let naniteId = '';
      await connected(async (c) => {
        if (!workstreamId) {
          const found = ensureOk(await c.request('GET', `/v1/workstreams?session=${encodeURIComponent(session)}`));
          workstreamId = found.workstreams[0]?.workstream_id;
          if (!workstreamId) throw await noWorkstreamFor(c, session);
        }
        const git = gitContextOrSay(!!opts.json);
        const body = { session_id: session, prompt, executor, runner: laneRunner(), ...(git ? { git } : {}) };
        const started = ensureOk(await c.request('POST', path(workstreamId, '/nanites'), body, sessionHeader(session)));
        naniteId = started.nanite_id;
      });
      announceLane(naniteId);
      const json = !!opts.json;
      if (!json) process.stderr.write(`bmo: nanite ${naniteId} on workstream ${workstreamId}: running ${executor.join(' ')}\n`);
      const result = await runBounded({
        argv: executor,
        cwd: process.cwd(),
        timeoutMs: opts.timeout ?? config.nanite.timeout_ms,
        maxOutputBytes: maxBytes,
        input: prompt,
        env: { ...process.env, BMO_WORKSTREAM: workstreamId, BMO_NANITE_ID: naniteId, BMO_PARENT_SESSION: session },
        stdout: json ? process.stderr : process.stdout,
        stderr: process.stderr,
      });
      const outcome = naniteOutcome(result);
      const completion = { outcome, handoff: result.output_tail, exit_code: result.exit_code, duration_ms: result.duration_ms, truncated: result.truncated };
      const recorded = await deliver(program, { method: 'POST', path: path(workstreamId!, `/nanites/${naniteId}/complete`), body: completion, headers: sessionHeader(session), what: `nanite ${naniteId} outcome on ${workstreamId}` });
      if (json) print(true, { workstream_id: workstreamId, nanite_id: naniteId, session_id: session, pos: recorded?.pos, recorded: recorded !== undefined, ...completion }, () => '');
      else if (recorded) process.stderr.write(`bmo: nanite ${naniteId} ${outcome}: ${runLine(result, maxBytes)}; handoff recorded on ${workstreamId}\n`);
      process.exitCode = result.exit_code === 0 && !result.timed_out ? 0 : shellExitCode(result);
    });

  program
    .command('cartography')
    .description('heat per workstream and path, open markers, and the trail (advisory signals across sessions)')
    .option('--limit <n>', 'at most this many rows per list', wholeNumber('--limit', 1), 100)
    .option('--json', 'print JSON')
    .action(async (opts: { limit: number; json?: boolean }) =>
      connected(async (c) => {
        const result = ensureOk(await c.request('GET', `/v1/cartography?limit=${opts.limit}`));
        print(!!opts.json, result, () => cartographyText(result));
      }),
    );
}
