import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { StoreLockedError } from '../errors.js';

export const LOCK_FILE = 'LOCK';

/** Locks this process holds: its own pid in a LOCK is stale only when it is not one of these. */
const heldHere = new Set<string>();

interface LockOwner {
  pid: number;
  host: string;
  started_at: string;
  role: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The single-writer lock on a data directory: a `LOCK` file created exclusively. A lock left by a
 * process that no longer runs on this host (a kill -9) is taken over.
 */
export function acquireLock(dataDir: string, role: string): () => void {
  const path = resolve(dataDir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), role };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, JSON.stringify(owner) + '\n');
      fsyncSync(fd);
      closeSync(fd);
      heldHere.add(path);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: LockOwner | undefined;
    try {
      holder = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      holder = undefined; // written half-way by a process that died: stale
    }
    if (holder && holder.host === owner.host && (holder.pid !== process.pid || heldHere.has(path)) && isAlive(holder.pid)) {
      throw new StoreLockedError(dataDir, `${holder.role} (pid ${holder.pid}, since ${holder.started_at})`);
    }
    if (holder && holder.host !== owner.host) {
      throw new StoreLockedError(dataDir, `${holder.role} on host ${holder.host} (pid ${holder.pid}); remove ${path} if that host is gone`);
    }
    try {
      unlinkSync(path);
    } catch {
      /* someone else took it over first; the next attempt tells */
    }
  }
  throw new StoreLockedError(dataDir, 'another process that keeps taking the lock');
}
