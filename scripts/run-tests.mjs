#!/usr/bin/env node
// Runs the uvu suite over the compiled tests and closes with the plain `N passed, N failed` line,
// so that an empty run is seen as one. `node scripts/run-tests.mjs [pattern]` runs the matching files.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const pattern = process.argv[2];
if (!existsSync('dist/test')) {
  console.error('dist/test is missing: run `npm run build` first (npm test does it for you)');
  process.exit(2);
}
// uvu matches the pattern against every file under dist/test (source maps too): keep to *.test.js.
const args = ['node_modules/uvu/bin.js', 'dist/test', pattern ? `^(?=.*(?:${pattern})).*\\.test\\.js$` : '\\.test\\.js$'];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const total = Number(new RegExp('^\\s*Total:\\s+(\\d+)', 'm').exec(output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? 0);
  const passed = Number(new RegExp('^\\s*Passed:\\s+(\\d+)', 'm').exec(output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? 0);
  const skipped = Number(new RegExp('^\\s*Skipped:\\s+(\\d+)', 'm').exec(output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? 0);
  let failed = Math.max(0, total - passed - skipped);
  if (code !== 0 && failed === 0) failed = 1; // a crash before the summary is a failure, not an empty pass
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 || total === 0 ? 1 : 0);
});
