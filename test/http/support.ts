import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Bmo } from '../../src/app.js';
import { ok } from '../helpers/bmo.js';

export { ok, withBmo } from '../helpers/bmo.js';

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
