import { BmoError } from '../errors.js';

/** A cursor names the last item of the page before: its sort key, opaque to the client. */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): unknown[] {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key)) return key;
  } catch {
    /* refused below */
  }
  throw new BmoError('bad_request', 'cursor: not a cursor this server handed out; start again without it', { field: 'cursor' });
}

const compareKeys = (a: unknown[], b: unknown[]) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as string | number) < (b[i] as string | number) ? -1 : 1;
  return 0;
};

/** The page of `sorted` (ascending by `keyOf`) after `cursor`, at most `limit` long, with the cursor of the next page. */
export function pageOf<T>(sorted: T[], keyOf: (item: T) => unknown[], limit: number, cursor: string | undefined): { items: T[]; next_cursor?: string } {
  let start = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
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
  return more ? { items, next_cursor: encodeCursor(keyOf(items[items.length - 1])) } : { items };
}
