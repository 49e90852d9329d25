import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, logDestination } from '../../src/telemetry/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

// The production log destination gathers lines and writes them in batches: every line arrives,
// whole and in order, on an explicit flush, on its own within the periodic flush, and when the
// process exits without flushing.

const LOGGER_MODULE = new URL('../../src/telemetry/logger.js', import.meta.url).href;

const records = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { i: number; msg: string; text?: string });

/** The file opens asynchronously; a synchronous flush needs it open. */
const opened = () => new Promise((resolve) => setTimeout(resolve, 20));

test('every line is written whole and in order, multi-byte text included, once flushed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'bmo.log');
    const destination = logDestination(file);
    await opened();
    const logger = createLogger({ level: 'info', destination });
    const texts = ['plain', 'é and ü', 'a line with an emoji 🛰️ in it', 'x'.repeat(5000)];
    for (let i = 0; i < 3000; i++) logger.info({ i, text: texts[i % texts.length] }, 'line');
    destination.flushSync();
    const got = records(file);
    assert.is(got.length, 3000);
    got.forEach((record, i) => {
      assert.is(record.i, i);
      assert.is(record.text, texts[i % texts.length]);
    });
    destination.end();
  } finally {
    cleanup();
  }
});

test('a line alone, far short of a batch, is written without a flush', async () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'bmo.log');
  const destination = logDestination(file);
  try {
    createLogger({ level: 'info', destination }).info({ i: 7 }, 'alone');
    await until(() => {
      try {
        return records(file).some((record) => record.i === 7);
      } catch {
        return false;
      }
    }, 'the lone line in the file');
  } finally {
    destination.end();
    cleanup();
  }
});

test('what is gathered is written when the process exits without a flush', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'bmo.log');
    const script = `
      const { createLogger, logDestination } = await import(${JSON.stringify(LOGGER_MODULE)});
      const destination = logDestination(${JSON.stringify(file)});
      await new Promise((resolve) => setTimeout(resolve, 20)); // the file opens
      const logger = createLogger({ level: 'info', destination });
      for (let i = 0; i < 1001; i++) logger.info({ i }, 'before exit');
      process.exit(0);
    `;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    const got = records(file);
    assert.is(got.length, 1001);
    assert.equal(
      got.map((record) => record.i),
      Array.from({ length: 1001 }, (_, i) => i),
    );
  } finally {
    cleanup();
  }
});

test.run();
