/**
 * A replay worker (see `OpenOptions.parallel`): scans its share of the logs exactly as the store
 * does on its own thread, folds each good event with the fold the store was given, and sends back,
 * a chunk of logs at a time, what it found per log, where each event lives and the fold's result —
 * a fresh fold per chunk, so that the main thread takes each in while it still scans its own share
 * and this thread's heap stays small.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CorruptLogError } from '../errors.js';
import { newScanBuffer, scanLog, type ScannedLog } from './scan.js';
import type { ReplayFold } from './types.js';

export interface ReplayWorkerInput {
  module: string;
  logs: { idx: number; name: string; file: string }[];
  /** Events folded so far, across workers, for the progress line: Int32Array over it, slot 0. */
  progress: SharedArrayBuffer;
}

export interface ReplayChunk {
  type: 'chunk';
  logs: { idx: number; scanned: ScannedLog | undefined }[];
  /** Four numbers an event, in scan order: pos, stream idx, byte offset, length. */
  entries: Float64Array;
  /** The fold of this chunk's logs alone. */
  result: unknown;
}

export type ReplayWorkerMessage = ReplayChunk | { type: 'done' } | { type: 'failed'; corrupt?: { file: string; line: number; reason: string }; message: string };

/** Logs a chunk holds: an eighth of the share, so that chunks start arriving early, within [16, 256] so that messages stay few. */
const logsPerChunk = (logs: number) => Math.min(256, Math.max(16, Math.ceil(logs / 8)));
/** Events between two updates of the shared progress count. */
const PROGRESS_STEP = 4096;

async function run(input: ReplayWorkerInput): Promise<void> {
  const { createReplayFold } = (await import(input.module)) as { createReplayFold: () => ReplayFold };
  const progress = new Int32Array(input.progress);
  const scratch = newScanBuffer();
  let sinceReport = 0;
  const perChunk = logsPerChunk(input.logs.length);
  for (let first = 0; first < input.logs.length; first += perChunk) {
    const fold = createReplayFold();
    let entries = new Float64Array(4 * 16384);
    let n = 0;
    const logs: ReplayChunk['logs'] = [];
    for (const log of input.logs.slice(first, first + perChunk)) {
      const scanned = scanLog(log.file, log.name, scratch, (envelope, offset, length) => {
        if (n + 4 > entries.length) {
          const bigger = new Float64Array(entries.length * 2);
          bigger.set(entries);
          entries = bigger;
        }
        entries[n++] = envelope.pos;
        entries[n++] = log.idx;
        entries[n++] = offset;
        entries[n++] = length;
        fold.apply(envelope);
        if (++sinceReport === PROGRESS_STEP) {
          Atomics.add(progress, 0, sinceReport);
          sinceReport = 0;
        }
      });
      logs.push({ idx: log.idx, scanned });
    }
    const chunk: ReplayChunk = { type: 'chunk', logs, entries: entries.slice(0, n), result: fold.result() };
    parentPort!.postMessage(chunk, [chunk.entries.buffer as ArrayBuffer]);
  }
  Atomics.add(progress, 0, sinceReport);
}

run(workerData as ReplayWorkerInput).then(
  () => parentPort!.postMessage({ type: 'done' } satisfies ReplayWorkerMessage),
  (error: unknown) =>
    parentPort!.postMessage({
      type: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      corrupt: error instanceof CorruptLogError ? { file: error.file, line: error.line, reason: error.reason } : undefined,
    } satisfies ReplayWorkerMessage),
);
