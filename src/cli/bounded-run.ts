import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MAX_OUTPUT_BYTES } from '../config/config.js';

/** The most output a run keeps: the catalogue's limit on `output_tail` and `handoff`, and the config's ceiling. */
export const MAX_KEPT_BYTES = MAX_OUTPUT_BYTES;
const KILL_GRACE_MS = 2_000;

export interface BoundedRunOptions {
  argv: string[];
  cwd: string;
  timeoutMs: number;
  /** Keep at most this many bytes: the tail of stdout and stderr as they arrived. */
  maxOutputBytes: number;
  /** Written to the child's stdin, then closed; without it stdin is /dev/null. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the output goes live while the command runs. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface BoundedRunResult {
  exit_code: number | null;
  signal: string | null;
  duration_ms: number;
  output_tail: string;
  truncated: boolean;
  timed_out: boolean;
  /** The caller was interrupted (SIGINT, SIGTERM, SIGHUP) and passed the signal on. */
  interrupted: boolean;
  /** Total bytes the command wrote. */
  output_bytes: number;
  /** The command could not be started (not found, not executable). */
  spawn_error?: string;
}

/** Keeps the last `max` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept > this.max) {
      const first = this.chunks[0];
      const excess = this.kept - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
      }
    }
  }

  /** The kept tail as text: a character cut in half at the start is dropped, NULs are replaced. */
  text(): string {
    let bytes = Buffer.concat(this.chunks);
    if (this.total > this.kept) {
      let start = 0;
      while (start < bytes.length && start < 4 && (bytes[start] & 0xc0) === 0x80) start++;
      bytes = bytes.subarray(start);
    }
    return bytes.toString('utf8').replace(/\u0000/g, '\ufffd');
  }
}

/**
 * Runs a command on this machine with bounded time and kept output, passing its output through
 * live. The command gets its own process group so that a timeout stops what it started too.
 */
export async function runBounded(options: BoundedRunOptions): Promise<BoundedRunResult> {
  const tail = new TailBuffer(Math.min(options.maxOutputBytes, MAX_KEPT_BYTES));
  const posix = process.platform !== 'win32';
  const started = performance.now();
  const child = spawn(options.argv[0], options.argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: posix,
  });
  const guard = guardRun(child, posix, options.timeoutMs);

  child.stdout!.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    options.stdout.write(chunk);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    options.stderr.write(chunk);
  });
  if (options.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {}); // a command that never reads its stdin is not an error
    child.stdin.end(options.input);
  }

  const outcome = await exited(child);
  guard.release();

  const duration = Math.round(performance.now() - started);
  if (outcome.error !== undefined) {
    const message = `bmo: could not start ${options.argv[0]}: ${outcome.error}\n`;
    options.stderr.write(message);
    tail.push(Buffer.from(message));
    return { exit_code: 127, signal: null, duration_ms: duration, output_tail: tail.text(), truncated: false, timed_out: false, interrupted: guard.interrupted, output_bytes: tail.total, spawn_error: outcome.error };
  }
  return {
    exit_code: outcome.code,
    signal: outcome.signal,
    duration_ms: duration,
    output_tail: tail.text(),
    truncated: tail.total > Math.min(options.maxOutputBytes, MAX_KEPT_BYTES),
    timed_out: guard.timedOut,
    interrupted: guard.interrupted,
    output_bytes: tail.total,
  };
}

/** What became of a run: stopped by its timeout, interrupted; `release` ends the watch once the child is gone. */
interface RunGuard {
  timedOut: boolean;
  interrupted: boolean;
  release(): void;
}

/**
 * Watches a running child: its timeout stops its whole group (SIGTERM, then SIGKILL after a grace),
 * and a signal meant for this process is passed on to it.
 */
function guardRun(child: ChildProcess, posix: boolean, timeoutMs: number): RunGuard {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (posix && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      /* already gone */
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (signal: NodeJS.Signals) => {
    signalGroup(signal);
    killTimer ??= setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    guard.timedOut = true;
    stop('SIGTERM');
  }, timeoutMs);
  const onInterrupt = (signal: NodeJS.Signals) => {
    guard.interrupted = true;
    stop(signal);
  };
  // The child runs in a group of its own, so a signal meant for this run (a Ctrl-C, a kill, the
  // terminal hanging up) is passed on here: the child stops and the run is still recorded.
  const onSigint = () => onInterrupt('SIGINT');
  const onSigterm = () => onInterrupt('SIGTERM');
  const onSighup = () => onInterrupt('SIGHUP');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('SIGHUP', onSighup);
  const guard: RunGuard = {
    timedOut: false,
    interrupted: false,
    release() {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      process.off('SIGHUP', onSighup);
    },
  };
  return guard;
}

/** How the child ended, once its pipes are drained (or a grace later, when a grandchild holds them open). */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null; error?: string }> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error: error.message }));
    child.once('exit', (code, signal) => {
      // Wait for the pipes to drain, but not for a grandchild that keeps them open.
      const drained = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, KILL_GRACE_MS);
      child.once('close', () => {
        clearTimeout(drained);
        resolve({ code, signal });
      });
    });
  });
}

/** The exit code a shell would report for the run: its own, 124 for a timeout (as timeout(1)), 128+n for signal n. */
export function shellExitCode(result: Pick<BoundedRunResult, 'exit_code' | 'signal' | 'timed_out'>): number {
  if (result.timed_out) return 124;
  if (result.exit_code !== null) return result.exit_code;
  const number = result.signal ? (constants.signals as Record<string, number>)[result.signal] : undefined;
  return number ? 128 + number : 1;
}
