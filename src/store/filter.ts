import type { StreamFilter } from './types.js';

const PATTERN = /^(teams|workstreams|sessions|system)\/(\*|[a-z0-9][a-z0-9-]{0,63})$/;

const patternsOf = (patterns: string | string[] | undefined) =>
  (Array.isArray(patterns) ? patterns : (patterns ?? '*').split(',')).map((p) => p.trim()).filter(Boolean);

/** The first pattern of a filter that is not of a form `streamFilter` takes, so that a refusal can name it. */
export function badPattern(patterns: string | string[] | undefined): string | undefined {
  return patternsOf(patterns).find((pattern) => pattern !== '*' && !PATTERN.test(pattern));
}

/**
 * `*` (everything), `teams/*` (a kind), `teams/<id>` (one stream); several joined by commas.
 * Returns undefined when a pattern is not of that form (every one is checked, `*` or not).
 */
export function streamFilter(patterns: string | string[] | undefined): StreamFilter | undefined {
  if (badPattern(patterns) !== undefined) return undefined;
  const list = patternsOf(patterns);
  if (list.length === 0 || list.includes('*')) return () => true;
  const exact = new Set<string>();
  const kinds: string[] = [];
  for (const pattern of list) {
    if (pattern.endsWith('/*')) kinds.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return (stream) => exact.has(stream) || kinds.some((prefix) => stream.startsWith(prefix));
}
