import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from './connect.js';
import { cliWords } from './routes.js';

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
  /** How many meant for this server are still here (it stopped answering). */
  left: number;
  /** What waits for other servers: kept for the server it was meant for. */
  elsewhere: Waiting[];
}

/** What is recorded locally for one server. */
export interface Waiting {
  url: string;
  what: string[];
}

interface Spooled {
  name: string;
  entry: SpooledRequest;
}

/** Every spooled request, oldest first; one being written or sent by another command right now is left out. */
function readSpool(dir: string): Spooled[] {
  const found: Spooled[] = [];
  for (const name of spooledNames(dir)) {
    try {
      found.push({ name, entry: JSON.parse(readFileSync(join(dir, name), 'utf8')) });
    } catch {
      /* being written by another command right now, or already sent by one */
    }
  }
  return found;
}

/** What is recorded locally, by the server it was meant for (in the order each was first spooled). */
export function waitingByUrl(dir = spoolDir()): Waiting[] {
  return waitingIn(readSpool(dir));
}

/** Deletes what is recorded locally for `url`; answers what it was. */
export function dropSpooled(url: string, dir = spoolDir()): string[] {
  const dropped: string[] = [];
  for (const { name, entry } of readSpool(dir)) {
    if (entry.url !== url) continue;
    try {
      unlinkSync(join(dir, name));
      dropped.push(entry.what);
    } catch {
      /* sent or dropped by another command meanwhile */
    }
  }
  return dropped;
}

/**
 * Sends what is spooled for this server (or, with `from`, what was meant for that one), oldest
 * first, each with its own Idempotency-Key (so one the server took before the answer was lost is
 * answered, not appended again). A refusal (4xx) is set aside as `<name>.refused` with the reason;
 * a server that stops answering leaves the rest for later. What waits for other servers stays.
 */
export async function sendSpooled(connection: Connection, dir = spoolDir(), from: string | undefined = connection.url): Promise<SyncReport> {
  const report: SyncReport = { sent: [], refused: [], left: 0, elsewhere: [] };
  const entries = readSpool(dir);
  const mine = entries.filter(({ entry }) => entry.url === from);
  report.elsewhere = waitingIn(entries.filter(({ entry }) => entry.url !== from));
  for (const [i, { name, entry }] of mine.entries()) {
    const file = join(dir, name);
    let reply;
    try {
      reply = await connection.request(entry.method, entry.path, entry.body, entry.headers);
    } catch {
      report.left = mine.length - i;
      break;
    }
    if (reply.status >= 500) {
      report.left = mine.length - i;
      break;
    }
    if (reply.status >= 400) {
      const keptAs = `${name}.refused`;
      renameSync(file, join(dir, keptAs));
      report.refused.push({ what: entry.what, status: reply.status, message: cliWords(reply.json?.message ?? `HTTP ${reply.status}`), kept_as: join(dir, keptAs) });
    } else {
      rmSync(file, { force: true }); // another command may have sent it at the same moment: the key made that one a no-op
      report.sent.push({ what: entry.what, status: reply.status });
    }
  }
  return report;
}

function waitingIn(entries: Spooled[]): Waiting[] {
  const byUrl = new Map<string, string[]>();
  for (const { entry } of entries) byUrl.set(entry.url, [...(byUrl.get(entry.url) ?? []), entry.what]);
  return [...byUrl].map(([url, what]) => ({ url, what }));
}

const listed = (what: string[]) => (what.length <= 3 ? what.join(', ') : `${what.slice(0, 3).join(', ')} and ${what.length - 3} more`);

/** What a sync did, in a line or two for stderr; empty when nothing was spooled. */
export function syncWords(report: SyncReport): string {
  const lines: string[] = [];
  if (report.sent.length > 0) lines.push(`bmo: sent ${report.sent.length} result(s) recorded locally earlier: ${report.sent.map((s) => s.what).join(', ')}`);
  for (const r of report.refused) lines.push(`bmo: the server refused a result recorded locally (${r.what}): ${r.message}; kept in ${r.kept_as}`);
  if (report.left > 0) lines.push(`bmo: ${report.left} result(s) still recorded locally; bmo sync sends them`);
  for (const w of report.elsewhere) lines.push(`bmo: ${w.what.length} result(s) recorded locally wait for ${w.url}, not this server (${listed(w.what)}); bmo sync says how to send or drop them`);
  return lines.map((l) => `${l}\n`).join('');
}

/** For `bmo sync`: what waits for other servers, and the two ways on for each. */
export function elsewhereText(elsewhere: Waiting[], here: string): string {
  return elsewhere
    .map((w) =>
      [
        `${w.what.length} result(s) recorded locally wait for ${w.url}: ${listed(w.what)}`,
        w.url === here ? `  sent by the next bmo command that reaches ${w.url}, or by bmo sync` : `  sent when a bmo command reaches ${w.url}; to send them to ${here} instead: bmo sync --from ${w.url}`,
        `  to throw them away: bmo sync --drop ${w.url}`,
      ].join('\n'),
    )
    .join('\n');
}
