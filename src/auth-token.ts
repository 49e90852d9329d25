import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
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
  // Written whole beside it, then linked into place: a process starting at the same moment reads
  // the whole token or none, never an empty file (it may run before either holds the data directory).
  const temp = join(dataDir, `.${TOKEN_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, token + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw error;
  } finally {
    unlinkSync(temp);
  }
}
