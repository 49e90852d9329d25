// One of run-tests.mjs's workers: runs the compiled test files it is sent (one line of stdin each,
// a path relative to dist/test) one after another in this process, each with uvu as its CLI would.
// A process loads node, uvu and bmo once for many files, not once a file (about a second of CPU).
// After each file it writes a line `<MARK>{"file","cpuMs"}` to stdout: everything before it, since
// the last such line, is that file's output. The CPU is this process's and its waited-for
// children's since the last file ended (the first file's includes the worker's start).
// An error no test caught ends the worker, as it would have ended that file's own process.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

export const MARK = '\u0000bmo-test-file-done ';
const TEST_DIR = resolve('dist/test');

// One stream, so that what a file writes to stderr stays with the rest of its output, before its line.
process.stderr.write = process.stdout.write.bind(process.stdout);

globalThis.UVU_DEFER = 1; // suites queue up instead of running when a file calls test.run()
const uvu = await import('uvu');

/** CPU milliseconds of this process and its waited-for children (Linux), else of this process alone. */
function cpuMs() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * 10;
  } catch {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
}

const uncaught = (error) => {
  process.stdout.write(`\nan error no test caught ended the file's process:\n${error?.stack ?? error}\n`);
  process.exit(70);
};
process.on('uncaughtException', uncaught);
process.on('unhandledRejection', uncaught);

let before = 0;
for await (const file of createInterface({ input: process.stdin })) {
  if (!file) continue;
  globalThis.UVU_QUEUE = [[file]];
  globalThis.UVU_INDEX = 0;
  try {
    await import(pathToFileURL(join(TEST_DIR, file)).href);
    await uvu.exec(false);
  } catch (error) {
    // A file that does not load: its summary says one test, none passed.
    process.stdout.write(`${error?.stack ?? error}\n\n  Total:     1\n  Passed:    0\n`);
  }
  const now = cpuMs();
  process.stdout.write(`${MARK}${JSON.stringify({ file, cpuMs: now - before })}\n`);
  before = now;
}
process.exit(0);
