import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'auth-token';

/** The bearer token: from config or BMO_TOKEN, else `data/auth-token`, created (mode 0600) on first start. */
export function resolveToken(configured: string | undefined, dataDir: string, create = true): string | undefined {
  if (configured) return configured;
  const path = join(dataDir, TOKEN_FILE);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !create) return undefined;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, token + '\n');
    fsyncSync(fd);
    closeSync(fd);
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw error;
  }
}
