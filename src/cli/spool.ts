import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from './connect.js';

/** A write the CLI could not deliver, kept on this machine with its Idempotency-Key until a server takes it. */
export interface SpooledRequest {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  /** For people: what it records, e.g. `verify run on book-visuals`. */
  what: string;
  /** The server it was meant for: only that one is sent it. */
  url: string;
  spooled_at: string;
}

/** This machine's own bmo state (spool, lane logs), not the data directory's: `$XDG_STATE_HOME/bmo`, else `~/.local/state/bmo`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(env.HOME ?? homedir(), '.local', 'state'), 'bmo');
}

/** `$BMO_SPOOL_DIR`, else `<state dir>/spool`. */
export function spoolDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BMO_SPOOL_DIR || join(stateDir(env), 'spool');
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the request durably (a temp file synced, renamed, the directory synced); answers its file name. */
export function spool(request: Omit<SpooledRequest, 'spooled_at'>, dir = spoolDir()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Names sort in the order they were spooled: they are sent in that order.
  const name = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}.json`;
  const temp = join(dir, `.${name}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify({ ...request, spooled_at: new Date().toISOString() }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, name));
  syncDir(dir);
  return name;
}

export function spooledNames(dir = spoolDir()): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
}

export interface SyncReport {
  sent: { what: string; status: number }[];
  refused: { what: string; status: number; message: string; kept_as: string }[];
  left: number;
}

/**
 * Sends what is spooled, oldest first, each with its own Idempotency-Key (so one the server took
 * before the answer was lost is answered, not appended again). A refusal (4xx) is set aside as
 * `<name>.refused` with the reason; a server that stops answering leaves the rest for later.
 */
export async function sendSpooled(connection: Connection, dir = spoolDir()): Promise<SyncReport> {
  const report: SyncReport = { sent: [], refused: [], left: 0 };
  const names = spooledNames(dir);
  for (const [i, name] of names.entries()) {
    const file = join(dir, name);
    let entry: SpooledRequest;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // being written by another command right now, or already sent by one
    }
    if (entry.url !== connection.url) continue;
    let reply;
    try {
      reply = await connection.request(entry.method, entry.path, entry.body, entry.headers);
    } catch {
      report.left = names.length - i;
      break;
    }
    if (reply.status >= 500) {
      report.left = names.length - i;
      break;
    }
    if (reply.status >= 400) {
      const keptAs = `${name}.refused`;
      renameSync(file, join(dir, keptAs));
      report.refused.push({ what: entry.what, status: reply.status, message: reply.json?.message ?? `HTTP ${reply.status}`, kept_as: join(dir, keptAs) });
    } else {
      unlinkSync(file);
      report.sent.push({ what: entry.what, status: reply.status });
    }
  }
  return report;
}

/** What a sync did, in a line or two for stderr; empty when nothing was spooled. */
export function syncWords(report: SyncReport): string {
  const lines: string[] = [];
  if (report.sent.length > 0) lines.push(`bmo: sent ${report.sent.length} result(s) recorded locally earlier: ${report.sent.map((s) => s.what).join(', ')}`);
  for (const r of report.refused) lines.push(`bmo: the server refused a result recorded locally (${r.what}): ${r.message}; kept in ${r.kept_as}`);
  if (report.left > 0) lines.push(`bmo: ${report.left} result(s) still recorded locally; bmo sync sends them`);
  return lines.map((l) => `${l}\n`).join('');
}
