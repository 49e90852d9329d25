import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, TOKEN } from './bmo.js';

export interface Agent {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  /** A tool's `structuredContent`; throws with the refusal when the call is `isError`. */
  call(name: string, args?: Record<string, unknown>): Promise<any>;
  /** A tool call that must be refused: its `{error, message, field}`. */
  refused(name: string, args?: Record<string, unknown>): Promise<{ error: string; message: string; field?: string }>;
  close(): Promise<void>;
}

/**
 * The SDK's own client over stdio, spawning the real `bmo mcp` in `cwd` with `args`; the env holds
 * the token and none of the caller's BMO_* variables but those in `env`.
 */
export async function startAgent(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Agent> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('BMO_')) base[key] = value;
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', ...args], cwd, env: { ...base, HOME: cwd, BMO_TOKEN: TOKEN, ...env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => (stderr += chunk));
  const client = new Client({ name: 'bmo-test', version: '0.0.0' });
  await client.connect(transport);
  const raw = (name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args });
  const textOf = (result: Awaited<ReturnType<typeof raw>>) => (result.content as { type: string; text: string }[])[0]?.text ?? '';
  return {
    client,
    transport,
    stderr: () => stderr,
    async call(name, args) {
      const result = await raw(name, args);
      if (result.isError) throw new Error(`${name} refused: ${textOf(result)}`);
      return result.structuredContent;
    },
    async refused(name, args) {
      const result = await raw(name, args);
      if (!result.isError) throw new Error(`${name} was not refused: ${JSON.stringify(result.structuredContent)}`);
      return JSON.parse(textOf(result));
    },
    close: () => client.close(),
  };
}

/** Waits for `check` to hold, trying again on every `wake` (or every 20 ms), up to `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
