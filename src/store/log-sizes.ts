/**
 * Each log's size by stream name (`teams/<id>`), for checking a snapshot's checkpoint against the
 * logs. Many logs are stat'ed on a thread of their own (10 000 take a good part of a start from a
 * snapshot) while this thread lists them and reads and parses the snapshot: the thread is booted
 * first and handed the names once listed. Also that thread's code, run when started with
 * `workerData.logSizes`: nothing else but `claims` is loaded there.
 */
import fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { claims, sharedCount } from './claims.js';

/** Fewer logs than this are stat'ed on this thread: a thread costs more than it saves. */
const ON_A_THREAD = 1000;
/** Logs taken at a time by either thread. */
const CHUNK = 128;

interface LogSizesInput {
  logSizes: true;
  dataDir: string;
  logFile: string;
}

/** The work both threads share: names, the next one to take, how many are done, and their sizes (-1: no log). */
interface SharedSizing {
  names: string[];
  next: Int32Array;
  done: Int32Array;
  sizes: Float64Array;
}

/** Sizes the logs of the names it is handed. */
export interface LogSizer {
  /** Starts on `names` (on the thread, if any) and answers each one's size, -1 for none, when asked. Call it once. */
  start(names: string[]): { sizes(): Map<string, number>; sized(): number };
  /** Stops the thread if the sizes will not be asked for. */
  stop(): void;
}

/** Takes chunks of the shared names until none are left, stat'ing each. */
function statShare({ names, next, done, sizes }: SharedSizing, dataDir: string, logFile: string): void {
  for (const [from, to] of claims(next, names.length, CHUNK)) {
    for (let i = from; i < to; i++) sizes[i] = fs.statSync(`${dataDir}/${names[i]}/${logFile}`, { throwIfNoEntry: false })?.size ?? -1;
    Atomics.add(done, 0, to - from);
    Atomics.notify(done, 0);
  }
}

/** Waits (at most `ms`, blocking: the other thread's chunk is a millisecond's work) until every name is done. */
function allDone({ names, done }: SharedSizing, ms: number): boolean {
  const until = Date.now() + ms;
  for (let seen = Atomics.load(done, 0); seen < names.length; seen = Atomics.load(done, 0)) {
    if (Date.now() >= until) return false;
    Atomics.wait(done, 0, seen, 10);
  }
  return true;
}

function shared(names: string[]): SharedSizing {
  return { names, next: sharedCount(), done: sharedCount(), sizes: new Float64Array(new SharedArrayBuffer(8 * names.length)) };
}

/**
 * About how many entity directories `kinds` hold, without listing them: a directory's link count
 * is 2 plus its subdirectories on most file systems; where it is not kept (1), its byte size
 * stands in (some 20-64 bytes an entry).
 */
export function estimateLogs(dataDir: string, kinds: readonly string[]): number {
  let count = 0;
  for (const kind of kinds) {
    const stats = fs.statSync(`${dataDir}/${kind}`, { throwIfNoEntry: false });
    if (stats) count += stats.nlink > 2 ? stats.nlink - 2 : Math.floor(stats.size / 32);
  }
  return count;
}

/**
 * A sizer for about `expected` logs. When there are many a thread is booted now; it stats the names
 * as soon as it has them, and this thread takes its share of what is left when it asks for the
 * sizes. Should the thread fail, this thread stats them all.
 */
export function logSizer(dataDir: string, logFile: string, expected: number): LogSizer {
  const worker = expected >= ON_A_THREAD ? new Worker(new URL(import.meta.url), { workerData: { logSizes: true, dataDir, logFile } satisfies LogSizesInput }) : undefined;
  worker?.unref();
  worker?.on('error', () => {}); // the names it did not take are stat'ed here
  return {
    start: (names) => {
      const work = shared(names);
      worker?.postMessage(work);
      return {
        sized: () => Atomics.load(work.done, 0),
        sizes: () => {
          statShare(work, dataDir, logFile);
          if (!allDone(work, 2000)) return statAllHere(names, dataDir, logFile);
          return new Map(names.map((name, i) => [name, work.sizes[i]]));
        },
      };
    },
    stop: () => void worker?.terminate(),
  };
}

/** Every name stat'ed here, from the start: the thread took some and never finished them. */
function statAllHere(names: string[], dataDir: string, logFile: string): Map<string, number> {
  const work = shared(names);
  statShare(work, dataDir, logFile);
  return new Map(names.map((name, i) => [name, work.sizes[i]]));
}

if (!isMainThread && (workerData as Partial<LogSizesInput> | undefined)?.logSizes) {
  const { dataDir, logFile } = workerData as LogSizesInput;
  parentPort!.once('message', (work: SharedSizing) => {
    statShare(work, dataDir, logFile);
    parentPort!.close();
  });
}
