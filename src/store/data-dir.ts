import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Creates a data directory. One that bmo makes itself gets a `.gitignore` of `*`, as a Python venv
 * does: with no server named the CLI keeps `./data` in the directory it runs in, often a
 * repository, and the git context bmo records there must not read "dirty" because of bmo's own
 * files. A directory that exists already is left as it is.
 */
export function makeDataDir(dir: string): void {
  if (mkdirSync(dir, { recursive: true }) === undefined) return;
  writeFileSync(join(dir, '.gitignore'), '# made by bmo: its data directory stays out of git\n*\n');
}
