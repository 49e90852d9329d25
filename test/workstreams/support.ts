import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, TOKEN } from '../helpers/bmo.js';

/** The test executor for `bmo nanite run` (compiled from test/fixtures/nanite-executor.ts). */
export const NANITE_EXECUTOR = join(ROOT, 'dist', 'test', 'fixtures', 'nanite-executor.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Writes a bmo.toml into `cwd` whose [nanite] command runs the test executor with `args`. */
export function writeNaniteConfig(cwd: string, args: string[] = [], extra = ''): void {
  const command = JSON.stringify([process.execPath, NANITE_EXECUTOR, ...args]);
  writeFileSync(join(cwd, 'bmo.toml'), `[nanite]\ncommand = ${command}\ntimeout_ms = 20000\n${extra}`);
}

/** Runs the real `bmo` CLI in `cwd` against the server at `url`, as a user's shell would. */
export function runCli(cwd: string, url: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['BMO_WORKSTREAM', 'BMO_SESSION_ID', 'BMO_DATA_DIR', 'BMO_CONFIG', 'BMO_PORT', 'BMO_HOST']) delete base[name];
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...base, HOME: cwd, BMO_URL: url, BMO_TOKEN: TOKEN, BMO_LOG_LEVEL: 'warn', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
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
