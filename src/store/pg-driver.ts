import type pg from 'pg';

let driver: Promise<typeof pg> | undefined;

/**
 * The `pg` driver, loaded on the first connection: a bmo on the jsonl store (and every CLI command
 * that opens its data directory) never loads it.
 */
export function pgDriver(): Promise<typeof pg> {
  return (driver ??= import('pg').then((module) => module.default));
}
