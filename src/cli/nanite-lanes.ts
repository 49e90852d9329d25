import { spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { processStat } from '../store/lock.js';
import { BmoError } from '../errors.js';
import { ensureOk, type Connection } from './connect.js';
import { table } from './format.js';
import { print, wholeNumber, withConnection } from './shell.js';
import { stateDir } from './spool.js';

/** Set in a detached lane's environment: the descriptor on which it names its nanite id once started. */
const HANDSHAKE_ENV = 'BMO_NANITE_HANDSHAKE_FD';
const POLL_MS = 200;

const lanesDir = () => join(stateDir(), 'nanites');
export const laneLog = (naniteId: string) => join(lanesDir(), `${naniteId}.log`);
const nanitePath = (ws: string, nanite = '') => `/v1/workstreams/${encodeURIComponent(ws)}/nanites${nanite ? `/${encodeURIComponent(nanite)}` : ''}`;

/** This process as the runner of a lane: the sweep closes the lane when it is gone. */
export function laneRunner() {
  return { pid: process.pid, host: hostname(), start_ticks: processStat(process.pid)?.startTicks };
}

/** In a detached lane: tells the CLI that started it which nanite it is, then lets go of the descriptor. */
export function announceLane(naniteId: string): void {
  const fd = Number(process.env[HANDSHAKE_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, `${naniteId}\n`);
    closeSync(fd);
  } catch {
    /* the CLI that started it is gone: the lane runs on */
  }
}

/**
 * `nanite run --detach`: the same command again without `--detach`, in its own process group with
 * its output in a log file; answers the nanite id as soon as the lane has started it.
 */
export async function detachLane(argv: string[]): Promise<{ naniteId?: string; log: string; code: number | null }> {
  mkdirSync(lanesDir(), { recursive: true, mode: 0o700 });
  const pending = join(lanesDir(), `.starting-${process.pid}-${Date.now()}.log`);
  const out = openSync(pending, 'a', 0o600);
  const args = argv.filter((word) => word !== '--detach');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out, 'pipe'], env: { ...process.env, [HANDSHAKE_ENV]: '3' } });
  closeSync(out);
  const handshake = child.stdio[3] as NodeJS.ReadableStream;
  let said = '';
  handshake.setEncoding('utf8');
  handshake.on('data', (chunk: string) => (said += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    handshake.once('end', resolve);
    handshake.once('error', () => resolve());
  });
  const naniteId = said.trim() || undefined;
  // No id: the lane failed before it started a nanite; its log says why.
  if (!naniteId) return { naniteId, log: pending, code: await exited };
  const log = laneLog(naniteId);
  renameSync(pending, log);
  child.unref();
  return { naniteId, log, code: null };
}

function stateLine(n: any): string[] {
  return [n.nanite_id, n.state, n.runner ? `${n.runner.pid}@${n.runner.host}` : undefined, n.started_at, n.completed_at, (n.prompt ?? '').slice(0, 50)];
}

async function naniteNow(program: Command, ws: string, nanite: string): Promise<any> {
  let found: any;
  await withConnection(program, async (c: Connection) => void (found = ensureOk(await c.request('GET', nanitePath(ws, nanite)))));
  return found;
}

const outcomeExit = (state: string) => (state === 'completed' ? 0 : state === 'timeout' ? 124 : 1);

/** `bmo nanite status|wait|logs`: a lane seen from another terminal, whether it was detached or not. */
export function registerLaneCommands(program: Command, nanite: Command): void {
  nanite
    .command('status <workstream> [nanite]')
    .description("a workstream's nanites (or one): state, the process running it, when it started and ended")
    .option('--json', 'print JSON')
    .action(async (ws: string, id: string | undefined, opts: { json?: boolean }) =>
      withConnection(program, async (c) => {
        const result = ensureOk(await c.request('GET', nanitePath(ws, id)));
        const rows = id ? [result] : result.nanites;
        print(!!opts.json, result, () =>
          rows.length === 0
            ? `no nanites on ${ws} (start one with bmo nanite run --workstream ${ws} "prompt")`
            : table(['NANITE', 'STATE', 'PROCESS', 'STARTED', 'ENDED', 'PROMPT'], rows.map(stateLine)) + (id && existsSync(laneLog(id)) ? `\nlog: ${laneLog(id)} (bmo nanite logs ${ws} ${id})` : ''),
        );
      }),
    );

  nanite
    .command('wait <workstream> <nanite>')
    .description('wait until the nanite ends; exit 0 when it completed, 124 when it timed out, 1 otherwise')
    .option('--timeout <ms>', 'give up after this long (exit 69)', wholeNumber('--timeout', 1))
    .option('--json', 'print JSON')
    .action(async (ws: string, id: string, opts: { timeout?: number; json?: boolean }) => {
      const deadline = opts.timeout === undefined ? Infinity : Date.now() + opts.timeout;
      let found = await naniteNow(program, ws, id);
      while (found.state === 'running') {
        if (Date.now() >= deadline) throw new BmoError('store_unavailable', `nanite ${id} is still running after ${opts.timeout} ms; bmo nanite status ${ws} ${id}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        found = await naniteNow(program, ws, id);
      }
      print(!!opts.json, found, () => `nanite ${id} on ${ws}: ${found.state}${found.exit_code !== undefined && found.exit_code !== null ? ` (exit ${found.exit_code})` : ''}`);
      process.exitCode = outcomeExit(found.state);
    });

  nanite
    .command('logs <workstream> <nanite>')
    .description("a detached lane's output on this machine; --follow keeps printing until the lane ends")
    .option('--follow', 'keep printing new output until the nanite ends')
    .action(async (ws: string, id: string, opts: { follow?: boolean }) => {
      const log = laneLog(id);
      if (!existsSync(log)) throw new BmoError('not_found', `no log of nanite ${id} on this machine (${log}): only a lane started with bmo nanite run --detach here has one; its recorded tail: bmo nanite status ${ws} ${id} --json`, { field: 'nanite' });
      let offset = await copyFrom(log, 0);
      if (!opts.follow) return;
      let now = await naniteNow(program, ws, id);
      while (now.state === 'running') {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        offset = await copyFrom(log, offset);
        now = await naniteNow(program, ws, id);
      }
      // The lane says its last line after its outcome is recorded: that too, once its process is gone.
      await laneGone(now.runner);
      await copyFrom(log, offset);
    });
}

/** Resolves once the process that ran a lane on this host has ended (at most a few seconds on). */
async function laneGone(runner: { pid: number; host: string; start_ticks?: number } | undefined): Promise<void> {
  if (!runner || runner.host !== hostname()) return;
  const deadline = Date.now() + 5000;
  for (;;) {
    const stat = processStat(runner.pid);
    const running = stat !== undefined && stat.state !== 'Z' && (runner.start_ticks === undefined || stat.startTicks === runner.start_ticks);
    if (!running || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Copies the log from `offset` to stdout; answers the new offset. */
async function copyFrom(file: string, offset: number): Promise<number> {
  const size = statSync(file).size;
  if (size <= offset) return offset;
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file, { start: offset, end: size - 1 });
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.pipe(process.stdout, { end: false });
  });
  return size;
}
