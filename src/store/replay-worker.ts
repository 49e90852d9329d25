/**
 * A replay worker (see `OpenOptions.parallel`): takes logs a few at a time from a count it shares
 * with the store's thread and the other workers, scans each exactly as the store does on its own
 * thread, folds each good event with the fold the store was given, and sends back, a chunk of logs
 * at a time, what it found per log, where each event lives and the fold's result — a fresh fold
 * per chunk, so that the main thread takes each in while it still scans logs of its own and this
 * thread's heap stays small.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CorruptLogError } from '../errors.js';
import type { Envelope } from '../../events/index.js';
import { claims } from './claims.js';
import { newScanBuffer, scanLog, type ScannedLog } from './scan.js';
import type { ReplayFold } from './types.js';

export interface ReplayWorkerInput {
  module: string;
  /** Every log of the replay: each thread takes the next few (`claims`) until none are left. */
  logs: { idx: number; name: string; file: string }[];
  /** The next log to take, shared by every thread of the replay: Int32Array over it, slot 0. */
  next: SharedArrayBuffer;
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

/** Logs taken from the shared count at a time: a few milliseconds' work, so that the threads end together. */
const LOGS_A_CLAIM = 16;
/** Logs a chunk holds: a sixteenth of them all, so that chunks start arriving early, within [16, 256] so that messages stay few. */
const logsPerChunk = (logs: number) => Math.min(256, Math.max(16, Math.ceil(logs / 16)));
/** Events between two updates of the shared progress count. */
const PROGRESS_STEP = 4096;

/** One chunk being gathered: the logs scanned into it, where their events live, and their fold. */
class ChunkBuilder {
  readonly logs: ReplayChunk['logs'] = [];
  private readonly fold: ReplayFold;
  private entries = new Float64Array(4 * 16384);
  private n = 0;

  constructor(createFold: () => ReplayFold) {
    this.fold = createFold();
  }

  add(pos: number, idx: number, offset: number, length: number): void {
    if (this.n + 4 > this.entries.length) {
      const bigger = new Float64Array(this.entries.length * 2);
      bigger.set(this.entries);
      this.entries = bigger;
    }
    this.entries[this.n++] = pos;
    this.entries[this.n++] = idx;
    this.entries[this.n++] = offset;
    this.entries[this.n++] = length;
  }

  apply(envelope: Envelope): void {
    this.fold.apply(envelope);
  }

  send(): void {
    const chunk: ReplayChunk = { type: 'chunk', logs: this.logs, entries: this.entries.slice(0, this.n), result: this.fold.result() };
    parentPort!.postMessage(chunk, [chunk.entries.buffer as ArrayBuffer]);
  }
}

async function run(input: ReplayWorkerInput): Promise<void> {
  const { createReplayFold } = (await import(input.module)) as { createReplayFold: () => ReplayFold };
  const progress = new Int32Array(input.progress);
  const scratch = newScanBuffer();
  let sinceReport = 0;
  const perChunk = logsPerChunk(input.logs.length);
  let chunk = new ChunkBuilder(createReplayFold);
  for (const [from, to] of claims(new Int32Array(input.next), input.logs.length, LOGS_A_CLAIM)) {
    for (let i = from; i < to; i++) {
      const log = input.logs[i];
      const scanned = scanLog(log.file, log.name, scratch, (envelope, offset, length) => {
        chunk.add(envelope.pos, log.idx, offset, length);
        chunk.apply(envelope);
        if (++sinceReport === PROGRESS_STEP) {
          Atomics.add(progress, 0, sinceReport);
          sinceReport = 0;
        }
      });
      chunk.logs.push({ idx: log.idx, scanned });
    }
    if (chunk.logs.length >= perChunk) {
      chunk.send();
      chunk = new ChunkBuilder(createReplayFold);
    }
  }
  if (chunk.logs.length > 0) chunk.send();
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
