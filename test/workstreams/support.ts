import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLog, ROOT, TOKEN, runBmoCli, type CliResult } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

export type { CliResult };

/** The test executor for `bmo nanite run` (compiled from test/fixtures/nanite-executor.ts). */
export const NANITE_EXECUTOR = join(ROOT, 'dist', 'test', 'fixtures', 'nanite-executor.js');

/** Writes a bmo.toml into `cwd` whose [nanite] command runs the test executor with `args`. */
export function writeNaniteConfig(cwd: string, args: string[] = [], extra = ''): void {
  const command = JSON.stringify([process.execPath, NANITE_EXECUTOR, ...args]);
  writeFileSync(join(cwd, 'bmo.toml'), `[nanite]\ncommand = ${command}\ntimeout_ms = 20000\n${extra}`);
}

/** Runs the real `bmo` CLI in `cwd` against the server at `url`, as a user's shell would. */
export function runCli(cwd: string, url: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runBmoCli(args, cwd, { BMO_URL: url, BMO_TOKEN: TOKEN, BMO_LOG_LEVEL: 'warn', ...env });
}

/** `runCli … --json` that must exit 0; its stdout parsed. */
export async function cliJson(cwd: string, url: string, args: string[], env: Record<string, string> = {}): Promise<any> {
  const result = await runCli(cwd, url, [...args, '--json'], env);
  if (result.code !== 0) throw new Error(`bmo ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** GET with the bearer token against a real server. */
export async function getJson(url: string, path: string): Promise<any> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!response.ok) throw new Error(`GET ${path} → ${response.status} ${await response.text()}`);
  return response.json();
}

export async function getText(url: string, path: string, headers: Record<string, string> = {}): Promise<{ type: string; body: string }> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  if (!response.ok) throw new Error(`GET ${path} → ${response.status} ${await response.text()}`);
  return { type: response.headers.get('content-type') ?? '', body: await response.text() };
}

export interface Dirs {
  root: string;
  dataDir: string;
  cwd: string;
}

/** Temp dirs for a CLI test (the data directory and a working directory beside it), removed after. */
export async function withDirs(fn: (dirs: Dirs) => Promise<void>): Promise<void> {
  const tmp = tempDir('bmo-seed-ws-');
  const dirs = { root: tmp.dir, dataDir: join(tmp.dir, 'data'), cwd: join(tmp.dir, 'repo') };
  mkdirSync(dirs.dataDir);
  mkdirSync(dirs.cwd);
  try {
    await fn(dirs);
  } finally {
    tmp.cleanup();
  }
}

/** A git repository in `cwd` with one commit on branch `main`; answers HEAD. */
export function gitRepo(cwd: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).trim();
  git('init', '-q', '-b', 'main');
  writeFileSync(join(cwd, 'README'), 'x\n');
  git('add', 'README');
  git('commit', '-q', '-m', 'first');
  return git('rev-parse', 'HEAD');
}

/** A command line that runs `script` with this node. */
export const node = (script: string) => [process.execPath, '-e', script];

/** The verify runs recorded in a workstream's log, read straight from the file. */
export const verifyRuns = (dataDir: string, id: string) => readLog(join(dataDir, 'workstreams', id, 'events.jsonl')).filter((e) => e.type === 'verify_run_recorded');
