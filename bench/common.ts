import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './load.js';

/** dist/bench: where the compiled child modules live. */
export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** A message a bench child sends over IPC: always `{ type, ... }`. */
export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

/**
 * A bench module running in its own Node process (the load comes from a second process), with
 * IPC both ways; `next(type)` waits for the next message of that type.
 */
export class BenchChild {
  readonly child: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private readonly waiting: { type: string; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }[] = [];
  private exited: Error | undefined;
  private stderr = '';

  constructor(module: string, args: string[] = [], nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, join(BENCH_DIR, module), ...args], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    this.child.stderr!.on('data', (chunk) => {
      this.stderr += chunk;
      if (this.stderr.length > 20_000) this.stderr = this.stderr.slice(-20_000);
    });
    this.child.on('message', (message: ChildMessage) => {
      const i = this.waiting.findIndex((w) => w.type === message.type);
      if (i !== -1) this.waiting.splice(i, 1)[0].resolve(message);
      else this.inbox.push(message);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = new Error(`bench child ${module} exited (code ${code}, signal ${signal})${this.stderr ? `:\n${this.stderr}` : ''}`);
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  send(message: ChildMessage): void {
    this.child.send(message);
  }

  next<T extends ChildMessage = ChildMessage>(type: string, timeoutMs = 60_000): Promise<T> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench child: no "${type}" message within ${timeoutMs} ms${this.stderr ? `:\n${this.stderr}` : ''}`)), timeoutMs);
      this.waiting.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Resolves when the process has exited (killing it if it does not within `graceMs`). */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** In a child: the typed IPC send. */
export function report(message: ChildMessage): void {
  process.send!(message);
}

/**
 * CPU time this process's main thread has run, in µs, from the scheduler's own count (Linux
 * `/proc/self/task/<pid>/schedstat`); undefined where there is no such file. `process.cpuUsage`
 * adds up every thread: the GC's helpers and the pool thread doing the fdatasync too.
 */
export function mainThreadCpuUs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

/** Clock ticks a second in /proc/<pid>/stat (Linux's USER_HZ). */
const USER_HZ = 100;

/**
 * CPU time every process named `postgres` on this machine has run, in µs (undefined where /proc
 * cannot tell): each live process by the scheduler's count, and the backends that exited by what
 * the postmaster reaped (its children's time). The whole server: a database the bench does not
 * use, busy meanwhile, counts too.
 */
export function postgresCpuUs(): number | undefined {
  try {
    let us = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
        const fields = stat.slice(close + 2).split(' '); // fields[0] is the state, field 3 of the file
        us += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
        us += ((Number(fields[13]) + Number(fields[14])) * 1e6) / USER_HZ; // cutime, cstime
      } catch {
        // gone meanwhile
      }
    }
    return us;
  } catch {
    return undefined;
  }
}

/** Percentile of an ascending-sorted array (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function sortedCopy(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `12,345` (integers) or `1.23` style numbers for the printed lines. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Runs `workers` closed loops, each calling `once` again as soon as it settles, for a warm-up and
 * then a measured window; reports `{type:'window'}` when the window opens. `once(worker)` resolves
 * to undefined when the request counts, or to why it does not; the first reason is kept from any
 * phase, requests and errors are counted in the window only.
 */
export async function closedLoop(workers: number, once: (worker: number) => Promise<string | undefined>, warmupMs: number, durationMs: number): Promise<LoadResult> {
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const loop = async (worker: number) => {
    while (phase !== 'done') {
      const started = performance.now();
      const error = await once(worker).catch((thrown) => String(thrown));
      if (error !== undefined) firstError ??= error;
      if (phase !== 'measure') continue;
      if (error === undefined) {
        requests++;
        latencies.push(performance.now() - started);
      } else errors++;
    }
  };
  const running = Array.from({ length: workers }, (_, worker) => loop(worker));
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  phase = 'measure';
  report({ type: 'window' });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  phase = 'done';
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const counted = requests;
  const sorted = sortedCopy(latencies);
  await Promise.allSettled(running);
  return {
    type: 'result',
    requests: counted,
    errors,
    firstError,
    seconds,
    reqPerSec: counted / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    clientCpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / seconds,
  };
}
