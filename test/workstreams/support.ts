import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TOKEN, runBmoCli, type CliResult } from '../helpers/bmo.js';

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
