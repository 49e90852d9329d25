/**
 * message_send calls per second through one stdio MCP client (the SDK's Client spawning the real
 * `bmo mcp`) against the same operation over HTTP from one client, one call in flight each.
 * `node dist/bench/mcp.js` runs it alone against a bmo of its own.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BENCH_DIR, round } from './common.js';

const CLI = join(BENCH_DIR, '..', 'src', 'cli', 'main.js');
const WARMUP_MS = 1000;
const MEASURE_MS = 5000;

export interface McpBench {
  mcp_per_s: number;
  http_per_s: number;
  ratio: number;
}

/** Calls `send` one at a time for `ms` after a warm-up; calls per second. */
async function rate(send: (i: number) => Promise<void>): Promise<number> {
  let i = 0;
  const warm = performance.now() + WARMUP_MS;
  while (performance.now() < warm) await send(i++);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < MEASURE_MS) {
    await send(i++);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Against a listening bmo at `url` with team `teamId` whose members include m1 and m2. */
export async function measureMcpVsHttp(url: string, token: string, teamId: string): Promise<McpBench> {
  const http = await rate(async (i) => {
    const response = await fetch(`${url}/v1/teams/${teamId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'm1', to: 'm2', body: `over HTTP (${i})` }),
    });
    if (response.status !== 201) throw new Error(`POST messages: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('BMO_')) env[key] = value;
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--member', 'm1', '--agent', 'bench'], env: { ...env, BMO_URL: url, BMO_TOKEN: token }, stderr: 'ignore' });
  const client = new Client({ name: 'bmo-bench', version: '0.0.0' });
  await client.connect(transport);
  try {
    const mcp = await rate(async (i) => {
      const result = await client.callTool({ name: 'message_send', arguments: { team_id: teamId, to: 'm2', body: `over MCP (${i})` } });
      if (result.isError) throw new Error(`message_send: ${JSON.stringify(result.content)}`);
    });
    return { mcp_per_s: round(mcp), http_per_s: round(http), ratio: round(mcp / http, 3) };
  } finally {
    await client.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { startBmo } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config/config.js');
  const pino = (await import('pino')).default;
  const root = fs.mkdtempSync(join(tmpdir(), 'bmo-bench-mcp-'));
  const token = 'bench-token-0123456789abcdef';
  const { config } = loadConfig({ cwd: root, env: { HOME: root }, overrides: { server: { data_dir: join(root, 'data'), port: 0, token }, options: { teams: { enabled: true } } } });
  const bmo = await startBmo({ config, logger: pino({ level: 'silent' }) });
  try {
    const post = (path: string, body: unknown) => fetch(`${bmo.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post('/v1/teams', { id: 'bench-team', name: 'bench', lead: { name: 'Lead' } });
    for (const m of ['m1', 'm2']) await post('/v1/teams/bench-team/members', { member_id: m, name: m });
    const result = await measureMcpVsHttp(bmo.url!, token, 'bench-team');
    console.log(`message_send through one stdio MCP client: ${result.mcp_per_s}/s; over HTTP from one client: ${result.http_per_s}/s; ratio ${result.ratio} (target >= 0.5)`);
    console.log(JSON.stringify({ bench: 'bmo-mcp', node: process.version, ...result }));
  } finally {
    await bmo.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
