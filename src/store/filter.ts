import type { StreamFilter } from './types.js';

/**
 * `*` (everything), `teams/*` (a kind), `teams/<id>` (one stream); several joined by commas.
 * Returns undefined when a pattern is not of that form.
 */
export function streamFilter(patterns: string | string[] | undefined): StreamFilter | undefined {
  const list = (Array.isArray(patterns) ? patterns : (patterns ?? '*').split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  if (list.length === 0 || list.includes('*')) return () => true;
  const exact = new Set<string>();
  const kinds: string[] = [];
  for (const pattern of list) {
    if (!/^(teams|workstreams|sessions|system)\/(\*|[a-z0-9][a-z0-9-]{0,63})$/.test(pattern)) return undefined;
    if (pattern.endsWith('/*')) kinds.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return (stream) => exact.has(stream) || kinds.some((prefix) => stream.startsWith(prefix));
}
