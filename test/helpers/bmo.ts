import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import * as assert from 'uvu/assert';
import { startBmo, type Bmo } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { tempDir } from './tmp.js';

/** The repository root (tests run from dist/test/...). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const TOKEN = 'test-token-0123456789abcdef';

/** A silent logger, or one that keeps every line for assertions. */
export function testLogger(lines?: string[]): Logger {
  if (!lines) return pino({ level: 'silent' });
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
}

/** A config for a temp data directory, as bmo.toml would give it, with the given overrides. */
export function testConfig(dataDir: string, overrides: Record<string, unknown> = {}): Config {
  const server = { data_dir: dataDir, port: 0, token: TOKEN, ...((overrides.server as object) ?? {}) };
  const options = { teams: { enabled: true, ...(((overrides.options as Record<string, object>) ?? {}).teams ?? {}) } };
  return loadConfig({ cwd: dataDir, env: { HOME: dataDir }, overrides: { ...overrides, server, options } }).config;
}

export interface TestBmoOptions {
  overrides?: Record<string, unknown>;
  listen?: boolean;
  /** Every log line, kept for assertions. */
  logLines?: string[];
  /** A `TestClock` the test moves on (default: the system clock). */
  clock?: Clock;
}

/** An in-process bmo on a temp data directory (port 0 when it listens). */
export async function startTestBmo(dataDir: string, options: TestBmoOptions = {}): Promise<Bmo> {
  return startBmo({
    config: testConfig(dataDir, options.overrides),
    logger: testLogger(options.logLines),
    listen: options.listen ?? false,
    clock: options.clock,
    onFatal: (error) => {
      throw error;
    },
  });
}

/**
 * Runs `fn` against a fresh in-process bmo on a temp dir; closes it (every WebSocket first) and
 * removes the dir whatever happens. `close` lets `fn` close it earlier.
 */
export async function withBmo(fn: (bmo: Bmo, dir: string, close: () => Promise<void>) => Promise<void>, options: TestBmoOptions = {}): Promise<void> {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, options);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= bmo.close());
  try {
    await fn(bmo, tmp.dir, close);
  } finally {
    for (const socket of bmo.server.websocketServer?.clients ?? []) socket.terminate();
    await close().catch(() => {});
    tmp.cleanup();
  }
}

/** `inject` with the bearer token and a JSON body. */
export async function call(bmo: Bmo, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await bmo.server.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  let json: any;
  try {
    json = response.json();
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, json, body: response.body, headers: response.headers };
}

/** A call that must answer `status`; on anything else the assertion shows the answer. */
export async function ok(bmo: Bmo, status: number, method: string, url: string, body?: unknown, headers?: Record<string, string>) {
  const res = await call(bmo, method, url, body, headers);
  assert.is(res.status, status, `${method} ${url} → ${res.status} ${res.body}`);
  return res;
}

/** `ok`, and its JSON body. */
export async function okJson(bmo: Bmo, status: number, method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
  return (await ok(bmo, status, method, url, body, headers)).json;
}

/** The events of a jsonl log, one object a line; none when the file is not there. */
export function readLog<T = Record<string, any>>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * A server listening on port 0 in this process, for a test where the CLI is what has to be a
 * process of its own: `bmo serve`'s defaults (teams off unless `teams` says on), no config file.
 */
export async function serveHere(dataDir: string, teams = false): Promise<{ url: string; stop: () => Promise<void> }> {
  const bmo = await startTestBmo(dataDir, { listen: true, overrides: { options: { teams: { enabled: teams } } } });
  return { url: bmo.url!, stop: () => bmo.close() };
}

/** A real `bmo serve` process (on port 0 unless told); resolves once it prints the URL it serves on. */
export async function spawnServer(dataDir: string, env: Record<string, string> = {}, port = 0): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir], {
    cwd: dataDir,
    env: { ...process.env, HOME: dataDir, BMO_TOKEN: TOKEN, BMO_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = /serving on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`bmo serve exited with ${code} before serving: ${stderr}`)));
    child.once('error', (error) => reject(new Error(`bmo serve could not start in ${dataDir}: ${error.message}`)));
  });
  return {
    child,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function readToken(dataDir: string): string {
  return readFileSync(join(dataDir, 'auth-token'), 'utf8').trim();
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `bmo` CLI in `cwd` as a user's shell would: HOME is `cwd`, none of the caller's
 * BMO_* variables, only those in `env`; `input` goes to its stdin. Killed after `killAfterMs` (120 s: a hang,
 * not a slow start on a loaded machine).
 */
export function runBmoCli(args: string[], cwd: string, env: Record<string, string> = {}, input?: string | Buffer, killAfterMs = 120_000): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(base)) if (key.startsWith('BMO_')) delete base[key];
  delete base.FORCE_COLOR; // the runner's; beside NO_COLOR it only makes node warn
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...base, HOME: cwd, NO_COLOR: '1', ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
