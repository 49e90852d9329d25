#!/usr/bin/env node
// Runs the uvu suite over the compiled tests, one child process per file and as many at once as
// there are cores, then prints the wall time, the five slowest files and, alone on the last line,
// `N passed, N failed` (CI reads it; an empty run is a failure).
//   node scripts/run-tests.mjs [--build] [pattern]
// --build compiles first (npm test), so the time printed includes the build. BMO_TEST_JOBS sets
// how many files run at once.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const started = Date.now();
const args = process.argv.slice(2);
const build = args.includes('--build');
const pattern = args.find((arg) => arg !== '--build');
const TEST_DIR = 'dist/test';
const TIMES = 'dist/test-times.json';
const FILE_TIMEOUT_MS = Number(process.env.BMO_TEST_FILE_TIMEOUT_MS ?? 600_000);
const jobs = Math.max(1, Number(process.env.BMO_TEST_JOBS) || availableParallelism());
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;

const CPU_AT_EXIT = new URL('./cpu-at-exit.mjs', import.meta.url).href;
const cpuDir = mkdtempSync(join(tmpdir(), 'bmo-test-cpu-'));

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
/** Wall time, and the CPU the file's process and the processes it spawned used (when known). */
const timing = (r) => `${seconds(r.ms)}${r.cpuMs === undefined ? '' : `, cpu ${seconds(r.cpuMs)}`}`;

/** Runs `command` to completion with the output shown; resolves with its exit code. */
function run(command, argv) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** Every compiled test file (relative to dist/test) whose path matches the pattern. */
function testFiles() {
  const filter = pattern ? new RegExp(pattern) : undefined;
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.js')) found.push(relative(TEST_DIR, path));
    }
  };
  walk(TEST_DIR);
  return found.filter((file) => !filter || filter.test(file)).sort();
}

function readTimes() {
  try {
    return JSON.parse(readFileSync(TIMES, 'utf8'));
  } catch {
    return {};
  }
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const count = (output, label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? 0);

/** Runs one file under uvu in its own process; a crash or a timeout counts as one failure. */
function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const cpuFile = join(cpuDir, file.replaceAll('/', '_'));
    const argv = ['--import', CPU_AT_EXIT, 'node_modules/uvu/bin.js', TEST_DIR, `^${escapeRegExp(file)}$`, ...(color ? [] : ['--no-color'])];
    const env = { ...process.env, BMO_TEST_CPU_FILE: cpuFile };
    // The store parses every event bmo's deciders make against the catalogue again (off in production: src/store/checks.ts).
    env.BMO_CHECK_DECIDED = '1';
    if (!color) env.NO_COLOR = '1';
    delete env.FORCE_COLOR; // uvu sets it from --color; beside NO_COLOR it only makes node warn
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const total = count(output, 'Total');
      const passed = count(output, 'Passed');
      const skipped = count(output, 'Skipped');
      let failed = Math.max(0, total - passed - skipped);
      let note = '';
      if (timedOut) note = `killed after ${seconds(FILE_TIMEOUT_MS)}`;
      else if (code !== 0 && failed === 0) note = `exited with ${signal ?? code} before its summary`;
      if (note && failed === 0) failed = 1;
      let cpuMs;
      try {
        cpuMs = Number(readFileSync(cpuFile, 'utf8'));
      } catch {
        cpuMs = undefined; // killed before its exit handler ran
      }
      resolve({ file, ms: Date.now() - t0, cpuMs, output, passed, failed, skipped, total, note });
    });
  });
}

/** Runs the files `jobs` at a time, the slowest of the last run first so that none starts last. */
async function runAll(files) {
  const times = readTimes();
  const queue = [...files].sort((a, b) => (times[b] ?? Infinity) - (times[a] ?? Infinity));
  const results = [];
  const worker = async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await runFile(file);
      results.push(result);
      process.stdout.write(`\n── ${file} (${timing(result)}${result.note ? `, ${result.note}` : ''})\n${result.output}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
  writeFileSync(TIMES, JSON.stringify({ ...times, ...Object.fromEntries(results.map((r) => [r.file, r.ms])) }, null, 1));
  return results;
}

/**
 * Sleeps of 50 ms or more in test/: a test waits on a condition (test/helpers/wait.ts) or moves a
 * TestClock instead. A line that must wait (a kill at a random moment) says why after `sleep-check:`.
 */
function sleepsInTests() {
  const pause = [
    /\b(?:sleep|delay)\(\s*([\d_]+)/g,
    /\bsetTimeout\(\s*(?:resolve|res|r|done|next)\s*,\s*([\w_.]+)\s*\)/g,
    /\bsetTimeout\(\s*([\d_]+)\s*\)/g,
  ];
  const helper = /\b(?:function\s+(?:sleep|delay|pause)\s*\(|(?:const|let)\s+(?:sleep|delay|pause)\s*=\s*(?:async\s*)?\()/;
  const offenders = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
          if (line.includes('sleep-check:')) return;
          if (helper.test(line)) offenders.push(`${path}:${i + 1}: a sleep helper; wait with until/within (test/helpers/wait.ts) or move a TestClock`);
          for (const re of pause) {
            for (const match of line.matchAll(re)) {
              const ms = Number(match[1].replaceAll('_', ''));
              if (!(ms < 50)) offenders.push(`${path}:${i + 1}: waits ${Number.isNaN(ms) ? match[1] : `${ms} ms`}; wait on a condition (test/helpers/wait.ts) or move a TestClock`);
            }
          }
        });
      }
    }
  };
  walk('test');
  return offenders;
}

let buildMs = 0;
if (build) {
  const code = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
  buildMs = Date.now() - started;
  if (code !== 0) {
    console.log(`\nthe build failed (tsc exited with ${code})\n0 passed, 1 failed`);
    process.exit(1);
  }
}
if (!existsSync(TEST_DIR)) {
  console.error(`${TEST_DIR} is missing: run \`npm run build\` first (npm test does it for you)`);
  process.exit(2);
}
const files = testFiles();
const results = await runAll(files);
rmSync(cpuDir, { recursive: true, force: true });
const sleeps = existsSync('test') ? sleepsInTests() : [];
if (sleeps.length) console.log(`\n── no sleep of 50 ms or more in test/ (a failure)\n${sleeps.join('\n')}`);
const sum = (key) => results.reduce((n, r) => n + r[key], 0) + (key === 'failed' && sleeps.length ? 1 : 0);
const failedFiles = results.filter((r) => r.failed > 0).map((r) => r.file).concat(sleeps.length ? ['the sleep check'] : []);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);

const cpuMs = results.reduce((n, r) => n + (r.cpuMs ?? 0), 0);
console.log(`\n${files.length} file(s), ${jobs} at a time, in ${seconds(Date.now() - started)}${build ? ` (build ${seconds(buildMs)})` : ''}, tests' cpu ${seconds(cpuMs)}`);
console.log(`slowest: ${slowest.map((r) => `${r.file} (${timing(r)})`).join(', ')}`);
if (failedFiles.length) console.log(`failed in: ${failedFiles.join(', ')}`);
const skipped = sum('skipped');
console.log(`\n${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(sum('failed') > 0 || sum('total') === 0 ? 1 : 0);
