/**
 * Each log's size by stream name (`teams/<id>`), for checking a snapshot's checkpoint against the
 * logs. Many logs are stat'ed on a thread of their own (10 000 take a good part of a start from a
 * snapshot) while this thread reads and parses the snapshot. Also that thread's code, run when
 * started with `workerData.logSizes`: nothing else is loaded there.
 */
import fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** Fewer logs than this are stat'ed on this thread: a thread costs more than it saves. */
const ON_A_THREAD = 1000;

interface LogSizesInput {
  logSizes: true;
  dataDir: string;
  names: string[];
  logFile: string;
}

/** Each name's log size, -1 for none. */
function statLogs({ dataDir, names, logFile }: LogSizesInput): Float64Array {
  const sizes = new Float64Array(names.length);
  names.forEach((name, i) => (sizes[i] = fs.statSync(`${dataDir}/${name}/${logFile}`, { throwIfNoEntry: false })?.size ?? -1));
  return sizes;
}

/** The sizes of the logs of `names`; from a thread when there are many (stat'ed here should it fail). */
export function logSizes(dataDir: string, names: string[], logFile: string): Promise<Map<string, number>> {
  const input: LogSizesInput = { logSizes: true, dataDir, names, logFile };
  const toMap = (sizes: Float64Array) => new Map(names.map((name, i) => [name, sizes[i]]));
  if (names.length < ON_A_THREAD) return Promise.resolve(toMap(statLogs(input)));
  return new Promise<Map<string, number>>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: input });
    worker.once('message', (sizes: Float64Array) => resolve(toMap(sizes)));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the log sizes thread exited (code ${code}) without an answer`)));
  }).catch(() => toMap(statLogs(input)));
}

if (!isMainThread && (workerData as Partial<LogSizesInput> | undefined)?.logSizes) {
  const sizes = statLogs(workerData as LogSizesInput);
  parentPort!.postMessage(sizes, [sizes.buffer as ArrayBuffer]);
}
