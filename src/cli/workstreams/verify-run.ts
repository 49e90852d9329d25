import type { Command } from 'commander';
import { workstreamEvents } from '../../../events/workstreams.js';
import { commandLine } from '../../../projections/workstream.js';
import { BmoError } from '../../errors.js';
import { MAX_KEPT_BYTES } from '../bounded-run.js';
import { ensureOk } from '../connect.js';
import { wholeNumber } from '../shell.js';
import { runVerify } from '../verify.js';
import type { StatusReply } from './render.js';
import { check, path, SESSION_HELP, sessionOf, type Connected } from './shared.js';

/** `bmo workstream verify-run`: a command run here, its result recorded on the workstream. */
export function registerVerifyRunCommand(program: Command, workstream: Command, connected: Connected): void {
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
        const last = (ensureOk(await c.request('GET', path(id, '/status'))) as StatusReply).last_verify;
        if (!opts.again) return;
        if (!last) throw new BmoError('not_found', `no verify run on ${id} to run again: bmo workstream verify-run ${id} CMD…`, { field: 'again' });
        argv = last.argv;
      });
      if (opts.again && !opts.json) process.stderr.write(`bmo: again: ${commandLine(argv)}\n`);
      const { code } = await runVerify(program, id, argv, { ...opts, session });
      process.exitCode = code;
    });
}
