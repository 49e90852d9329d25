import { execFileSync } from 'node:child_process';

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

let toldNoGit = false;

/**
 * The git context to send with a write, saying once per command on stderr when there is none, so
 * that a workstream without one is never a surprise.
 */
export function gitContextOrSay(quiet: boolean, cwd = process.cwd()): GitContext | undefined {
  const context = gitContext(cwd);
  if (!context && !quiet && !toldNoGit) {
    toldNoGit = true;
    process.stderr.write(`bmo: ${cwd} is not in a git repository (or has no commit yet): no branch or commit recorded\n`);
  }
  return context;
}
