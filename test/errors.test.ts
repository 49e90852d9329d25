import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERROR_CODES } from '../src/errors.js';
import { ROOT } from './helpers/bmo.js';

/** Every TypeScript source under `dir`, as text. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}

/** The README's error table: code → status. */
function documented(): Map<string, number> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('<!-- error codes:'));
  const rows = new Map<string, number>();
  for (const line of table.split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.size > 0) break;
      continue;
    }
    const match = /^\| `([a-z_]+)` \| (\d{3}) \|/.exec(line);
    if (match) rows.set(match[1], Number(match[2]));
  }
  return rows;
}

test('every error code is raised or handled somewhere in src/ besides the table itself', () => {
  const catalogue = readFileSync(join(ROOT, 'src', 'errors.ts'), 'utf8');
  const table = catalogue.slice(catalogue.indexOf('export const ERROR_CODES'), catalogue.indexOf('} as const;'));
  const text = sources(join(ROOT, 'src')).join('\n').replace(table, '');
  const unused = Object.keys(ERROR_CODES).filter((code) => !text.includes(`'${code}'`));
  assert.equal(unused, [], `codes nobody raises: ${unused.join(', ')} (remove them from src/errors.ts)`);
});

test('the README documents every error code with its status, and no other', () => {
  const rows = documented();
  assert.ok(rows.size > 0, 'the README has an error table after <!-- error codes: -->');
  const missing = Object.keys(ERROR_CODES).filter((code) => !rows.has(code));
  assert.equal(missing, [], `codes the README does not document: ${missing.join(', ')}`);
  const stale = [...rows.keys()].filter((code) => !(code in ERROR_CODES));
  assert.equal(stale, [], `the README documents codes that are gone: ${stale.join(', ')}`);
  for (const [code, status] of rows) assert.is(status, ERROR_CODES[code as keyof typeof ERROR_CODES], `the README's status for ${code}`);
});

test.run();
