import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './spool.js';

/** Where the CLI stands in git: the repository's root, branch (null when detached), HEAD and whether the tree has changes. */
export interface GitContext {
  root: string;
  branch: string | null;
  commit: string;
  dirty: boolean;
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

/** The git context of `cwd`, or undefined outside a repository (or a repository with no commit yet, or no git). */
export function gitContext(cwd = process.cwd()): GitContext | undefined {
  const root = git(cwd, ['rev-parse', '--show-toplevel']);
  if (!root) return undefined;
  const commit = git(cwd, ['rev-parse', 'HEAD']);
  if (!commit || !/^[0-9a-f]{7,64}$/.test(commit)) return undefined;
  const branch = git(cwd, ['symbolic-ref', '--short', '-q', 'HEAD']) || null;
  const status = git(cwd, ['status', '--porcelain']);
  return { root, branch, commit, dirty: status !== undefined && status !== '' };
}

/** Where the directories already told they have no git context are remembered: `<state dir>/no-git`, one a line. */
const toldFile = () => join(stateDir(), 'no-git');
const TOLD_KEPT = 200;

function toldBefore(dir: string): boolean {
  try {
    return readFileSync(toldFile(), 'utf8').split('\n').includes(dir);
  } catch {
    return false;
  }
}

/** Remembers `dir` (the newest 200 are kept; an older one is told again, once). */
function rememberTold(dir: string): void {
  try {
    mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
    appendFileSync(toldFile(), `${dir}\n`, { mode: 0o600 });
    const lines = readFileSync(toldFile(), 'utf8').split('\n').filter(Boolean);
    if (lines.length > TOLD_KEPT * 2) writeFileSync(toldFile(), `${lines.slice(-TOLD_KEPT).join('\n')}\n`);
  } catch {
    /* a state directory that cannot be written: said again next time */
  }
}

/**
 * The git context to send with a write. Outside a repository it says so on stderr once per
 * directory on this machine (remembered in the state directory), so that work without a branch or
 * commit is never a surprise, and not a line on every command either.
 */
export function gitContextOrSay(quiet: boolean, cwd = process.cwd()): GitContext | undefined {
  const context = gitContext(cwd);
  if (!context && !quiet && !toldBefore(cwd)) {
    rememberTold(cwd);
    process.stderr.write(`bmo: ${cwd} is not in a git repository (or has no commit yet): no branch or commit is recorded for work done here (said once for this directory)\n`);
  }
  return context;
}
