import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { StoreLockedError } from '../errors.js';

export const LOCK_FILE = 'LOCK';

/** Locks this process holds: its own pid in a LOCK is stale only when it is not one of these. */
const heldHere = new Set<string>();

/** A process that exits without closing its store (`process.exit`, a CLI whose reader went away) lets go of its locks. */
let releaseOnExit = false;
function releaseHeldOnExit(): void {
  if (releaseOnExit) return;
  releaseOnExit = true;
  process.once('exit', () => {
    for (const path of heldHere) {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    }
  });
}

interface LockOwner {
  pid: number;
  host: string;
  started_at: string;
  role: string;
  /** When the process started, in clock ticks since boot (Linux): a later process with the same pid is told apart. */
  start_ticks?: number;
}

/**
 * Whether the process that wrote a LOCK still runs. Where `/proc` tells more than `kill(pid, 0)`
 * does, two more holders are dead: a zombie (killed, not yet reaped by a parent that never waits,
 * as a container's init may not) and a pid now reused by another process, which started at another
 * clock tick than the one the LOCK recorded (ticks since boot: no wall clock, which may step).
 */
export function holderRuns(holder: { pid: number; start_ticks?: number }): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStat(holder.pid);
  if (!now) return true; // no /proc here: kill's word is all there is
  if (now.state === 'Z' || now.state === 'X') return false;
  return holder.start_ticks === undefined || holder.start_ticks === now.startTicks;
}

/** A process's state letter and start (clock ticks since boot) from `/proc/<pid>/stat` (Linux); undefined elsewhere. */
export function processStat(pid: number): { state: string; startTicks: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], startTicks: Number(fields[19]) }; // fields 3 (state) and 22 (starttime)
}

/**
 * The single-writer lock on a data directory: a `LOCK` file that appears with its owner line in
 * it. A lock left by a process that no longer runs on this host (a kill -9) is taken over: removed
 * by one taker at a time (under `LOCK.takeover`, made the same way), and only while it still holds
 * the line judged stale, so that no taker removes a LOCK another has made meanwhile.
 */
export function acquireLock(dataDir: string, role: string): () => void {
  const path = resolve(dataDir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), role, start_ticks: processStat(process.pid)?.startTicks };
  const line = JSON.stringify(owner) + '\n';
  for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
    if (createLock(path, line)) return held(path);
    const found = lockAt(path);
    const live = liveHolder(found.holder, owner, path);
    if (live === 'other host') throw new StoreLockedError(dataDir, `${found.holder!.role} on host ${found.holder!.host} (pid ${found.holder!.pid}); remove ${path} if that host is gone`);
    if (live) throw new StoreLockedError(dataDir, `${found.holder!.role} (pid ${found.holder!.pid}, since ${found.holder!.started_at})`);
    if (found.text !== undefined) takeOver(path, found.text, line, owner, dataDir);
  }
  const taker = lockAt(`${path}.takeover`).holder;
  const detail = taker ? `; ${path}.takeover is held by ${taker.role} (pid ${taker.pid} on ${taker.host}): remove it if that process is gone` : '';
  throw new StoreLockedError(dataDir, `another process that keeps taking the lock${detail}`);
}

/** Rounds of trying to make the LOCK, each after a stale one was removed or a moment's wait for another taker. */
const TAKEOVER_ATTEMPTS = 200;

/**
 * A lock file's text and owner: nothing when it is gone (released meanwhile: no lock to judge), no
 * owner when its text does not read as one (written by hand, or empty on a full disk). The text
 * tells one holder's file from another's: a pid and the moment it started, where an inode number
 * may come back for the next file made.
 */
function lockAt(path: string): { holder?: LockOwner; text?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const holder = JSON.parse(text) as Partial<LockOwner>;
    const readable = Number.isSafeInteger(holder.pid) && holder.pid! > 0 && typeof holder.host === 'string';
    return readable ? { text, holder: holder as LockOwner } : { text };
  } catch {
    return { text };
  }
}

/** Whether a lock's owner still holds it: true, 'other host' (not ours to judge), or false (stale). */
function liveHolder(holder: LockOwner | undefined, me: LockOwner, path: string): boolean | 'other host' {
  if (!holder) return false;
  if (holder.host !== me.host) return 'other host';
  // This pid in a LOCK this process does not hold: a process before it, with the same pid.
  return (holder.pid !== me.pid || heldHere.has(path)) && holderRuns(holder);
}

/**
 * Removes the stale LOCK (its text `stale`) as the one taker that holds `LOCK.takeover`: between
 * reading it again and removing it, no other taker removes or makes a LOCK, and its dead holder
 * releases nothing. When another holds the takeover file, waits a moment (its takeover is a few
 * system calls); one left by a taker that died is removed as a stale LOCK would be.
 */
function takeOver(path: string, stale: string, line: string, me: LockOwner, dataDir: string): void {
  const takeover = `${path}.takeover`;
  if (!createLock(takeover, line)) {
    const other = lockAt(takeover);
    const live = liveHolder(other.holder, me, takeover);
    if (live === 'other host') throw new StoreLockedError(dataDir, `a takeover of its LOCK by ${other.holder!.role} on host ${other.holder!.host} (pid ${other.holder!.pid}); remove ${takeover} if that host is gone`);
    if (other.text !== undefined && !live) removeIfStill(takeover, other.text);
    else pause(2);
    return;
  }
  try {
    removeIfStill(path, stale);
  } finally {
    unlinkSync(takeover);
  }
}

/** Removes `path` if it still holds `text`: the same holder's file, not one made since. */
function removeIfStill(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) unlinkSync(path);
  } catch {
    /* gone already */
  }
}

/** Blocks this thread for `ms`: a lock is taken before anything else runs. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Makes the LOCK with its line already in it, or answers false when there is one: the line goes
 * to a file of this process's, synced, then linked as the LOCK (a link fails when the name
 * exists). A LOCK made by `open` and then written could be read empty in between by another
 * process, which would take it for a half-written one and take it over: two writers.
 */
function createLock(path: string, line: string): boolean {
  const own = `${path}.${process.pid}`;
  try {
    const fd = openSync(own, 'w', 0o644);
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } catch (error) {
      // A full disk: the LOCK is held by being there, without its owner line; the store starts read-only.
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      closeSync(fd);
    }
    linkSync(own, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    try {
      unlinkSync(own);
    } catch {
      /* never made */
    }
  }
}

/** The LOCK at `path`, taken by this process: let go when the store closes, or when the process exits. */
function held(path: string): () => void {
  heldHere.add(path);
  releaseHeldOnExit();
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
}
