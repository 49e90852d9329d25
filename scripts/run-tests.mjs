#!/usr/bin/env node
// Runs the uvu suite over the compiled tests on as many worker processes as there are cores, each
// running files one after another (scripts/test-worker.mjs), then prints the wall time, the five
// slowest files and, alone on the last line, `N passed, N failed` (CI reads it; an empty run is a
// failure).
//   node scripts/run-tests.mjs [--build] [pattern]
// --build compiles first (npm test), so the time printed includes the build. BMO_TEST_JOBS sets
// how many files run at once.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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

const WORKER = new URL('./test-worker.mjs', import.meta.url).pathname;

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
/** Wall time, and the CPU its worker and the processes it spawned used meanwhile (when known). */
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

const count = (output, label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? 0);

const MARK = '\u0000bmo-test-file-done ';

/**
 * A worker process (scripts/test-worker.mjs) that runs the files it is given one after another, so
 * that node, uvu and bmo load once for many files. `run(file)` resolves with the file's result;
 * `ended` says the worker is gone (it crashed, or was killed for a file over its time) and the
 * next file needs a new one.
 */
function startWorker() {
  const env = { ...process.env };
  // The store parses every event bmo's deciders make against the catalogue again (off in production: src/store/checks.ts).
  env.BMO_CHECK_DECIDED = '1';
  if (!color) env.NO_COLOR = '1';
  delete env.FORCE_COLOR; // beside NO_COLOR it only makes node warn
  if (color) env.FORCE_COLOR = '1';
  const child = spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let output = '';
  let current; // { file, t0, resolve, timer }
  let ended = false;
  const settle = (result) => {
    clearTimeout(current.timer);
    const { resolve } = current;
    current = undefined;
    resolve(result);
  };
  const summary = (file, ms, text, cpuMs, note) => {
    const total = count(text, 'Total');
    const passed = count(text, 'Passed');
    const skipped = count(text, 'Skipped');
    let failed = Math.max(0, total - passed - skipped);
    if (note && failed === 0) failed = 1;
    return { file, ms, cpuMs, output: text, passed, failed, skipped, total, note, ended };
  };
  const take = (chunk) => {
    output += chunk;
    for (let at = output.indexOf(MARK); at >= 0 && current; at = output.indexOf(MARK)) {
      const eol = output.indexOf('\n', at);
      if (eol < 0) return;
      const { cpuMs } = JSON.parse(output.slice(at + MARK.length, eol));
      const text = output.slice(0, at);
      output = output.slice(eol + 1);
      settle(summary(current.file, Date.now() - current.t0, text, cpuMs, ''));
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', (chunk) => (output += chunk));
  child.on('close', (code, signal) => {
    ended = true;
    if (!current) return;
    const note = current.timedOut ? `killed after ${seconds(FILE_TIMEOUT_MS)}` : `its process exited with ${signal ?? code} before its summary`;
    settle(summary(current.file, Date.now() - current.t0, output, undefined, note));
    output = '';
  });
  child.stdin.on('error', () => {}); // a worker that died: its close says so
  const started = Date.now();
  let first = true;
  return {
    run(file) {
      return new Promise((resolve) => {
        // The first file's time includes the worker's start, as its CPU does.
        current = { file, t0: first ? started : Date.now(), resolve, timedOut: false };
        first = false;
        current.timer = setTimeout(() => {
          current.timedOut = true;
          child.kill('SIGKILL');
        }, FILE_TIMEOUT_MS);
        child.stdin.write(`${file}\n`);
      });
    },
    get ended() {
      return ended;
    },
    end() {
      child.stdin.end();
    },
  };
}

/**
 * Runs the files on `jobs` workers, the slowest of the last run first so that none starts last; a
 * worker that dies is replaced for the files after.
 */
async function runAll(files) {
  const times = readTimes();
  const queue = [...files].sort((a, b) => (times[b] ?? Infinity) - (times[a] ?? Infinity));
  const results = [];
  const lane = async () => {
    let worker;
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      if (!worker || worker.ended) worker = startWorker();
      const result = await worker.run(file);
      results.push(result);
      process.stdout.write(`\n── ${file} (${timing(result)}${result.note ? `, ${result.note}` : ''})\n${result.output}`);
    }
    worker?.end();
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, lane));
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
