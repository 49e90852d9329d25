import type { z } from 'zod';
import { Id } from '../../../events/index.js';
import { formatIssues } from '../../../events/parse.js';
import { BmoError } from '../../errors.js';
import type { Connection } from '../connect.js';

/** Runs `run` on a connection to bmo (the server, or the data directory in-process). */
export type Connected = (run: (connection: Connection) => Promise<void>) => Promise<void>;

/** A workstream's route, or one below it. */
export const path = (id: string, rest = '') => `/v1/workstreams/${encodeURIComponent(id)}${rest}`;
export const sessionHeader = (session: string | undefined): Record<string, string> => (session ? { 'x-session-id': session } : {});
export const SESSION_HELP = 'the session doing it (default $BMO_SESSION_ID); the workstream then carries it, which is how nanite run --session finds it';

/** Checks a value with the catalogue's schema before anything runs, so a bad one never costs a run. */
export function check<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: z.ZodError } }, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new BmoError('invalid_body', formatIssues(result.error, field).message, { field });
  return result.data;
}

/** The session a workstream verb writes as: `--session`, else $BMO_SESSION_ID (an empty one is unset). */
export function sessionOf(opts: { session?: string }): string | undefined {
  const session = opts.session ?? (process.env.BMO_SESSION_ID || undefined);
  return session === undefined ? undefined : check(Id, session, 'session');
}
