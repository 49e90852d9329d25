import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as assert from 'uvu/assert';
import type { Bmo } from '../../src/app.js';
import { call, startTestBmo } from '../helpers/bmo.js';
import { tempDir } from '../helpers/tmp.js';

/** Every file under the data directory with its bytes (as text): what "nothing was written" compares. */
export function diskSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The store's head, every stream's version and the files on disk, to compare before and after a request. */
export function storeState(bmo: Bmo, dir: string, streams: string[] = []) {
  return {
    head: bmo.pipeline.store.head(),
    versions: Object.fromEntries(streams.map((s) => [s, bmo.pipeline.store.version(s as `teams/${string}`)])),
    disk: diskSnapshot(dir),
  };
}

/** Runs `fn` against a fresh in-process bmo on a temp dir; closes it and removes the dir whatever happens. */
export async function withBmo(fn: (bmo: Bmo, dir: string) => Promise<void>, overrides?: Record<string, unknown>): Promise<void> {
  const tmp = tempDir();
  const bmo = await startTestBmo(tmp.dir, { overrides });
  try {
    await fn(bmo, tmp.dir);
  } finally {
    await bmo.close().catch(() => {});
    tmp.cleanup();
  }
}

/** A call that must succeed with `status`; on anything else the assertion shows the answer. */
export async function ok(bmo: Bmo, status: number, method: string, url: string, body?: unknown, headers?: Record<string, string>) {
  const res = await call(bmo, method, url, body, headers);
  assert.is(res.status, status, `${method} ${url} → ${res.status} ${res.body}`);
  return res;
}

/** A team `id` with its lead `lead` and the given members. */
export async function createTeam(bmo: Bmo, id: string, members: string[] = []) {
  await ok(bmo, 201, 'POST', '/v1/teams', { id, name: `Team ${id}`, goal: `the goal of ${id}`, lead: { member_id: 'lead', name: 'Lead' } });
  for (const member of members) await ok(bmo, 201, 'POST', `/v1/teams/${id}/members`, { member_id: member, name: member });
}

/** The types of a team's events as the log holds them. */
export async function eventTypes(bmo: Bmo, teamId: string): Promise<string[]> {
  const res = await ok(bmo, 200, 'GET', `/v1/teams/${teamId}/events`);
  return res.json.events.map((e: { type: string }) => e.type);
}
