/**
 * A replay worker (see `OpenOptions.parallel`): scans its share of the logs exactly as the store
 * does on its own thread, folds each good event with the fold the store was given, and sends back
 * what it found per log, where each event lives, and the fold's result.
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

export type ReplayWorkerOutput =
  | {
      ok: true;
      logs: { idx: number; scanned: ScannedLog | undefined }[];
      /** Four numbers an event, in scan order: pos, stream idx, byte offset, length. */
      entries: Float64Array;
      result: unknown;
    }
  | { ok: false; corrupt?: { file: string; line: number; reason: string }; message: string };

/** Events between two updates of the shared progress count. */
const PROGRESS_STEP = 4096;

async function run(input: ReplayWorkerInput): Promise<ReplayWorkerOutput> {
  const { createReplayFold } = (await import(input.module)) as { createReplayFold: () => ReplayFold };
  const fold = createReplayFold();
  const progress = new Int32Array(input.progress);
  const scratch = newScanBuffer();
  let entries = new Float64Array(4 * 65536);
  let n = 0;
  let sinceReport = 0;
  const logs: { idx: number; scanned: ScannedLog | undefined }[] = [];
  for (const log of input.logs) {
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
  Atomics.add(progress, 0, sinceReport);
  return { ok: true, logs, entries: entries.slice(0, n), result: fold.result() };
}

run(workerData as ReplayWorkerInput).then(
  (output) => parentPort!.postMessage(output, output.ok ? [output.entries.buffer as ArrayBuffer] : []),
  (error: unknown) =>
    parentPort!.postMessage({
      ok: false,
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      corrupt: error instanceof CorruptLogError ? { file: error.file, line: error.line, reason: error.reason } : undefined,
    } satisfies ReplayWorkerOutput),
);
