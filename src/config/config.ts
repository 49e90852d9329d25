import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { formatIssues } from '../../events/parse.js';
import { SCHEMA_PATTERN } from '../store/types.js';

/** The most of a verify run's or nanite's output a recorded event keeps (the catalogue's output_tail bound). */
export const MAX_OUTPUT_BYTES = 64 << 10;
const OutputCeiling = z
  .number()
  .int()
  .positive()
  .max(MAX_OUTPUT_BYTES, `must be at most ${MAX_OUTPUT_BYTES} (64 KiB), the most of an output tail bmo keeps`)
  .default(MAX_OUTPUT_BYTES);

const ConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(7777),
      data_dir: z.string().default('./data'),
      token: z.string().min(16, 'must be at least 16 characters').optional(),
      url: z.url().optional(),
      allowed_origins: z.array(z.string()).default([]),
      /** Host names (no port) a browser may call this server by, besides its own, 127.0.0.1, localhost and [::1]. */
      allowed_hosts: z.array(z.string().min(1)).default([]),
      body_limit: z.number().int().positive().default(1 << 20),
      /** A request (headers and body) not complete in this time is answered 408 and closed. */
      request_timeout_ms: z.number().int().min(100).default(30_000),
      /** A connection with no traffic either way for this long is closed. */
      connection_timeout_ms: z.number().int().min(1000).default(120_000),
      keep_alive_timeout_ms: z.number().int().min(100).default(5_000),
      max_header_bytes: z.number().int().min(1024).max(1 << 20).default(16 << 10),
    })
    .prefault({}),
  stream: z
    .strictObject({
      ping_interval_ms: z.number().int().positive().default(30_000),
      max_buffered_bytes: z.number().int().positive().default(4 << 20),
      max_payload_bytes: z.number().int().positive().default(64 << 10),
      /** How long a full buffer may wait to drain before the client is closed as too slow. */
      stall_ms: z.number().int().positive().default(5_000),
      /** Frames a client may send a second, in a burst of as many; more closes it with 4029. */
      max_frames_per_second: z.number().int().positive().default(20),
    })
    .prefault({}),
  options: z
    .strictObject({
      teams: z
        .strictObject({
          enabled: z.boolean().default(false),
          server_url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL of the remote bmo, e.g. "https://teams.example.com"' }).optional(),
          token: z.string().optional(),
          timeout_ms: z.number().int().positive().default(5_000),
        })
        .prefault({}),
    })
    .prefault({}),
  store: z
    .strictObject({
      backend: z.enum(['jsonl', 'postgres']).default('jsonl'),
      url: z.string().optional(),
      schema: z.string().regex(SCHEMA_PATTERN, 'a schema name: lower case letters, digits and _, at most 63').default('bmo'),
    })
    .prefault({}),
  /** Requests per credential per window (`429` with Retry-After past them); the admin token is exempt unless told otherwise. */
  limits: z
    .strictObject({
      max_requests: z.number().int().positive().default(1200),
      window_ms: z.number().int().positive().default(60_000),
      exempt_admin: z.boolean().default(true),
      max_tracked: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** /metrics answers a scrape from this machine without a token. */
      public_on_loopback: z.boolean().default(false),
    })
    .prefault({}),
  snapshots: z
    .strictObject({
      enabled: z.boolean().default(true),
      every_events: z.number().int().min(0).default(100_000),
      every_minutes: z.number().min(0).default(10),
      keep: z.number().int().min(1).max(10).default(2),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      lease_ms: z.number().int().min(1000).default(60_000),
      sweep_interval_ms: z.number().int().positive().default(1_000),
    })
    .prefault({}),
  nanite: z
    .strictObject({
      command: z.array(z.string()).min(1).optional(),
      timeout_ms: z.number().int().positive().default(10 * 60_000),
      max_output_bytes: OutputCeiling,
    })
    .prefault({}),
  verify: z
    .strictObject({
      timeout_ms: z.number().int().positive().default(30 * 60_000),
      max_output_bytes: OutputCeiling,
    })
    .prefault({}),
});

export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Where config files are looked for: `./bmo.toml` wins over `~/.config/bmo/bmo.toml`. */
export function configPaths(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.BMO_CONFIG) return [resolve(cwd, env.BMO_CONFIG)];
  return [join(env.HOME ?? homedir(), '.config', 'bmo', 'bmo.toml'), resolve(cwd, 'bmo.toml')];
}

function readToml(path: string): Record<string, unknown> {
  try {
    return parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) throw new ConfigError(`${path}:${error.line}:${error.column}: ${error.message.split('\n')[0]}`);
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object' && !Array.isArray(prior)
        ? merge(prior as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export interface LoadedConfig {
  config: Config;
  files: string[];
}

/** Reads the config files and the environment once; everything else gets the result passed in. */
export function loadConfig(options: { cwd?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const files = configPaths(cwd, env).filter((path) => existsSync(path));
  if (env.BMO_CONFIG && files.length === 0) throw new ConfigError(`BMO_CONFIG names ${env.BMO_CONFIG}, which does not exist`);
  let raw: Record<string, unknown> = {};
  for (const file of files) {
    const parsed = ConfigSchema.safeParse(readToml(file));
    if (!parsed.success) throw new ConfigError(`${file}: ${formatIssues(parsed.error).message}`);
    raw = merge(raw, readToml(file));
  }
  const fromEnv: Record<string, Record<string, unknown>> = { server: {} };
  if (env.BMO_TOKEN) fromEnv.server.token = env.BMO_TOKEN;
  if (env.BMO_DATA_DIR) fromEnv.server.data_dir = env.BMO_DATA_DIR;
  if (env.BMO_HOST) fromEnv.server.host = env.BMO_HOST;
  if (env.BMO_PORT) fromEnv.server.port = Number(env.BMO_PORT);
  if (env.BMO_URL) fromEnv.server.url = env.BMO_URL;
  if (env.BMO_STORE_URL) fromEnv.store = { url: env.BMO_STORE_URL };
  if (env.BMO_TEAMS_TOKEN) fromEnv.options = { teams: { token: env.BMO_TEAMS_TOKEN } };
  raw = merge(merge(raw, fromEnv), options.overrides ?? {});
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config (${files.join(', ') || 'defaults'} and BMO_* variables): ${formatIssues(parsed.error).message}`);
  const config = parsed.data;
  config.server.data_dir = resolve(cwd, config.server.data_dir);
  return { config, files };
}

/** The remote teams server as every surface shows it: host only, no scheme, no path. */
export function hostOnly(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
