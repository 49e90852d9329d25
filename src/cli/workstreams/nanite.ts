import { Option, type Command } from 'commander';
import { workstreamEvents } from '../../../events/workstreams.js';
import { BmoError } from '../../errors.js';
import { MAX_KEPT_BYTES, runBounded, shellExitCode, type BoundedRunResult } from '../bounded-run.js';
import { ensureOk, requestAll, type Connection } from '../connect.js';
import { deliver } from '../deliver.js';
import { gitContextOrSay } from '../git.js';
import { announceLane, detachLane, laneRunner } from '../nanite-lanes.js';
import { configFrom, EXIT, print, wholeNumber } from '../shell.js';
import { runLine, type ListReply } from './render.js';
import { check, path, sessionHeader, sessionOf, type Connected } from './shared.js';

interface RunOptions {
  session?: string;
  workstream?: string;
  timeout?: number;
  detach?: boolean;
  json?: boolean;
}

/** The nanite outcome a run comes to. */
export function naniteOutcome(run: BoundedRunResult): 'completed' | 'failed' | 'timeout' | 'partial' {
  if (run.timed_out) return 'timeout';
  if (run.interrupted) return 'partial';
  if (run.exit_code === 0) return run.truncated ? 'partial' : 'completed';
  return 'failed';
}

/**
 * Why `nanite run` found no workstream for the session, and what to pass instead. Never a guess:
 * the only workstream there is may still not be the one this session works on, so it is named, not used.
 */
async function noWorkstreamFor(c: Connection, session: string): Promise<BmoError> {
  const all = ((await requestAll(c, '/v1/workstreams', 'workstreams')) as ListReply).workstreams;
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

/** `bmo nanite close|run`: a bounded side lane, run and recorded, or closed by hand. */
export function registerNaniteCommands(program: Command, nanite: Command, connected: Connected): void {
  nanite
    .command('close <id> <nanite-id>')
    .description('close a nanite that started and never reported back (its CLI was killed): it no longer holds up the preflight')
    .addOption(new Option('--outcome <outcome>', 'how it ended').choices(['partial', 'failed']).default('partial'))
    .option('--note <note>', 'what is known of it (goes into its handoff)')
    .option('--json', 'print JSON')
    .action(async (id: string, naniteId: string, opts: { outcome: 'partial' | 'failed'; note?: string; json?: boolean }) =>
      connected(async (c) => {
        const run: { started_at: string } = ensureOk(await c.request('GET', path(id, `/nanites/${encodeURIComponent(naniteId)}`)));
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
    .action(async (words: string[], opts: RunOptions) => (opts.detach ? runDetached(opts) : runNanite(program, connected, words, opts)));
}

/** `nanite run --detach`: the lane in its own process group; answers its nanite id. */
async function runDetached(opts: RunOptions): Promise<void> {
  const lane = await detachLane(process.argv.slice(1));
  if (!lane.naniteId) {
    process.stderr.write(`bmo: the lane did not start (exit ${lane.code}); its output: ${lane.log}\n`);
    process.exitCode = lane.code ?? 1;
    return;
  }
  print(!!opts.json, { nanite_id: lane.naniteId, log: lane.log }, () => lane.naniteId!);
}

/** No executor configured: says how to name one. */
function sayNoExecutor(files: string[]): void {
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
}

/** Records the nanite as started on its workstream (`--workstream`, $BMO_WORKSTREAM, else the latest carrying the session). */
async function startNanite(connected: Connected, opts: RunOptions, start: { session: string; prompt: string; executor: string[] }): Promise<{ workstreamId: string; naniteId: string }> {
  let workstreamId = opts.workstream ?? process.env.BMO_WORKSTREAM;
  let naniteId = '';
  await connected(async (c) => {
    if (!workstreamId) {
      const found: ListReply = ensureOk(await c.request('GET', `/v1/workstreams?session=${encodeURIComponent(start.session)}`));
      workstreamId = found.workstreams[0]?.workstream_id;
      if (!workstreamId) throw await noWorkstreamFor(c, start.session);
    }
    const git = gitContextOrSay(!!opts.json);
    const body = { session_id: start.session, prompt: start.prompt, executor: start.executor, runner: laneRunner(), ...(git ? { git } : {}) };
    const started: { nanite_id: string } = ensureOk(await c.request('POST', path(workstreamId, '/nanites'), body, sessionHeader(start.session)));
    naniteId = started.nanite_id;
  });
  return { workstreamId: workstreamId!, naniteId };
}

/** `nanite run`: the executor with the prompt on its stdin, bounded, its outcome recorded on the workstream. */
async function runNanite(program: Command, connected: Connected, words: string[], opts: RunOptions): Promise<void> {
  const { config, files } = configFrom(program);
  const executor = config.nanite.command;
  if (!executor) return sayNoExecutor(files);
  const prompt = check(workstreamEvents.nanite_started.shape.prompt, words.join(' '), 'prompt');
  const session = sessionOf(opts);
  if (session === undefined) throw new BmoError('bad_request', 'nanite run needs the parent session: pass --session <id> or set BMO_SESSION_ID', { field: 'session' });
  const maxBytes = Math.min(config.nanite.max_output_bytes, MAX_KEPT_BYTES);
  const { workstreamId, naniteId } = await startNanite(connected, opts, { session, prompt, executor });
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
  const recorded: { pos: number } | undefined = await deliver(program, { method: 'POST', path: path(workstreamId, `/nanites/${naniteId}/complete`), body: completion, headers: sessionHeader(session), what: `nanite ${naniteId} outcome on ${workstreamId}` });
  if (json) print(true, { workstream_id: workstreamId, nanite_id: naniteId, session_id: session, pos: recorded?.pos, recorded: recorded !== undefined, ...completion }, () => '');
  else if (recorded) process.stderr.write(`bmo: nanite ${naniteId} ${outcome}: ${runLine(result, maxBytes)}; handoff recorded on ${workstreamId}\n`);
  process.exitCode = result.exit_code === 0 && !result.timed_out ? 0 : shellExitCode(result);
}
