import type { Command } from 'commander';
import { RecipeArgv, StepName } from '../../events/index.js';
import { commandLine } from '../../projections/workstream.js';
import { BmoError } from '../errors.js';
import { MAX_KEPT_BYTES, runBounded, shellExitCode, type BoundedRunResult } from './bounded-run.js';
import { ensureOk } from './connect.js';
import { deliver } from './deliver.js';
import { gitContextOrSay } from './git.js';
import { configFrom, print, wholeNumber, withConnection } from './shell.js';
import { check, path } from './workstreams/shared.js';

export interface VerifyOptions {
  timeout?: number;
  maxOutput?: number;
  session?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Runs a verification command here (never on the server), streaming its output, and records the
 * run with the git context it ran in (and its recipe step); a run the server cannot take is spooled.
 * Answers the command's exit code.
 */
export async function runVerify(program: Command, id: string, argv: string[], opts: VerifyOptions, step?: string): Promise<{ code: number; result: BoundedRunResult }> {
  const { config } = configFrom(program);
  const maxBytes = Math.min(opts.maxOutput ?? config.verify.max_output_bytes, MAX_KEPT_BYTES);
  const json = !!opts.json;
  const git = gitContextOrSay(json || !!opts.quiet);
  const result = await runBounded({ argv, cwd: process.cwd(), timeoutMs: opts.timeout ?? config.verify.timeout_ms, maxOutputBytes: maxBytes, stdout: json ? process.stderr : process.stdout, stderr: process.stderr });
  const record = {
    argv,
    cwd: process.cwd(),
    exit_code: result.exit_code,
    signal: result.signal,
    duration_ms: result.duration_ms,
    output_tail: result.output_tail,
    truncated: result.truncated,
    timed_out: result.timed_out,
    ...(opts.session ? { session_id: opts.session } : {}),
    ...(git ? { git } : {}),
    ...(step ? { step } : {}),
  };
  const what = `verify run${step ? ` (step ${step})` : ''} on ${id}`;
  const recorded = await deliver(program, { method: 'POST', path: path(id, '/verify-runs'), body: record, headers: opts.session ? { 'x-session-id': opts.session } : {}, what });
  const code = shellExitCode(result);
  if (json) print(true, { workstream_id: id, run_id: recorded?.run_id, pos: recorded?.pos, recorded: recorded !== undefined, ...record }, () => '');
  else if (recorded) process.stderr.write(`bmo: verify run ${recorded.run_id}${step ? ` (${step})` : ''} recorded on ${id}: ${code === 0 ? 'passed' : `failed (exit ${code})`}\n`);
  return { code, result };
}

/** `bmo workstream recipe add|list` and `bmo workstream verify`: the workstream's named, repeatable steps. */
export function registerRecipeCommands(program: Command, workstream: Command): void {
  const recipe = workstream.command('recipe').description('named verify steps: the repeatable process of the workstream').enablePositionalOptions();
  recipe
    .command('add <id> <step> <cmd...>')
    .description('store a named step: bmo workstream recipe add <id> <step> -- CMD… (the same step again replaces its command)')
    .option('--json', 'print JSON')
    .passThroughOptions()
    .action(async (id: string, step: string, cmd: string[], opts: { json?: boolean }) => {
      const argv = check(RecipeArgv, cmd[0] === '--' ? cmd.slice(1) : cmd, 'argv');
      const name = check(StepName, step, 'step');
      await withConnection(program, async (c) => {
        const result = ensureOk(await c.request('POST', path(id, '/recipe'), { step: name, argv }));
        print(!!opts.json, result, () => `workstream ${id}: step ${name} runs \`${commandLine(argv)}\``);
      });
    });
  recipe
    .command('list <id>')
    .description('the steps, in order')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) =>
      withConnection(program, async (c) => {
        const result = ensureOk(await c.request('GET', path(id, '/recipe')));
        print(!!opts.json, result, () => (result.steps.length === 0 ? `no recipe steps on ${id}: bmo workstream recipe add ${id} <step> -- CMD…` : result.steps.map((s: { step: string; argv: string[] }) => `${s.step}  ${commandLine(s.argv)}`).join('\n')));
      }),
    );

  workstream
    .command('verify <id> [steps...]')
    .description("run the recipe's steps (all, or those named) in order here, record each, stop at the first failure and exit with its code")
    .option('--timeout <ms>', 'stop each step after this long (default [verify] timeout_ms)', wholeNumber('--timeout', 1))
    .option('--session <id>', 'the session doing it (default $BMO_SESSION_ID)')
    .option('--quiet', 'say nothing but the commands\' own output and errors')
    .action(async (id: string, names: string[], opts: VerifyOptions) => {
      let steps: { step: string; argv: string[] }[] = [];
      await withConnection(program, async (c) => void (steps = ensureOk(await c.request('GET', path(id, '/recipe'))).steps));
      if (steps.length === 0) throw new BmoError('not_found', `workstream ${id} has no recipe steps: bmo workstream recipe add ${id} <step> -- CMD…`, { field: 'step' });
      const unknown = names.filter((n) => !steps.some((s) => s.step === n));
      if (unknown.length > 0) throw new BmoError('not_found', `no step ${unknown.join(', ')} in the recipe of ${id} (steps: ${steps.map((s) => s.step).join(', ')})`, { field: 'step' });
      const chosen = names.length === 0 ? steps : names.map((n) => steps.find((s) => s.step === n)!);
      const session = opts.session ?? (process.env.BMO_SESSION_ID || undefined);
      for (const s of chosen) {
        if (!opts.quiet) process.stderr.write(`bmo: step ${s.step}: ${commandLine(s.argv)}\n`);
        const { code } = await runVerify(program, id, s.argv, { ...opts, session }, s.step);
        if (code !== 0) {
          process.exitCode = code;
          return;
        }
      }
    });
}
