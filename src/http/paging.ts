import type { FastifyReply, FastifyRequest } from 'fastify';
import fnv from 'fnv-plus';
import { BmoError } from '../errors.js';

/** The list a request pages: its path as routed (`%74` is `t`), whatever its filters. */
export function listOf(request: FastifyRequest): string {
  const path = new URL(request.url, 'http://bmo').pathname;
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // not a path any route took
  }
}

/**
 * A cursor names the last item of the page before (its sort key) and the list it pages (a hash of
 * its path), opaque to the client: a cursor of another list is refused, not read as this one's.
 */
export function encodeCursor(key: unknown[], list: string): string {
  return Buffer.from(JSON.stringify([fnv.fast1a32hex(list), ...key])).toString('base64url');
}

export function decodeCursor(cursor: string, list: string): unknown[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    /* refused below */
  }
  if (!Array.isArray(key)) throw new BmoError('bad_request', 'cursor: not a cursor this server handed out; start again without it', { field: 'cursor' });
  if (key[0] !== fnv.fast1a32hex(list)) throw new BmoError('bad_request', `cursor: a cursor of another list than ${list}; pass the next_cursor this list answered, or start again without it`, { field: 'cursor' });
  return key.slice(1);
}

const compareKeys = (a: unknown[], b: unknown[]) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as string | number) < (b[i] as string | number) ? -1 : 1;
  return 0;
};

/** The page of `sorted` (ascending by `keyOf`) after `cursor`, at most `limit` long, with the cursor of the next page; `list` names what is paged. */
export function pageOf<T>(sorted: T[], keyOf: (item: T) => unknown[], limit: number, cursor: string | undefined, list: string): { items: T[]; next_cursor?: string } {
  let start = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor, list);
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(keyOf(sorted[mid]), after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const items = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length;
  return more ? { items, next_cursor: encodeCursor(keyOf(items[items.length - 1]), list) } : { items };
}

/** `Link: <this URL with cursor=next>; rel="next"` when there is a page after this one. */
export function linkNext(request: FastifyRequest, reply: FastifyReply, next: string | undefined): void {
  if (next === undefined) return;
  const url = new URL(request.url, 'http://bmo');
  url.searchParams.set('cursor', next);
  void reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
}

/** `pageOf` as a route answers it: `next_cursor` is null on the last page, and a Link header names the next. */
export function page<T>(request: FastifyRequest, reply: FastifyReply, sorted: T[], keyOf: (item: T) => unknown[], query: { limit: number; cursor?: string }): { items: T[]; next_cursor: string | null } {
  const { items, next_cursor } = pageOf(sorted, keyOf, query.limit, query.cursor, listOf(request));
  linkNext(request, reply, next_cursor);
  return { items, next_cursor: next_cursor ?? null };
}

/**
 * A page of a list kept in the order things happened, from which nothing is deleted: keyed by
 * position in the whole list, before `keep` filters it, so an item that stops matching the filter
 * (a task claimed, a message read) moves no other across a page.
 */
export function pageInOrder<T>(request: FastifyRequest, reply: FastifyReply, items: readonly T[], query: { limit: number; cursor?: string }, keep?: (item: T) => boolean): { items: T[]; next_cursor: string | null } {
  const rows = items.map((item, index) => ({ item, index })).filter((row) => !keep || keep(row.item));
  const result = page(request, reply, rows, (row) => [row.index], query);
  return { items: result.items.map((row) => row.item), next_cursor: result.next_cursor };
}
