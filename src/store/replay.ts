import { Worker } from 'node:worker_threads';
import { CorruptLogError } from '../errors.js';
import type { ReplayChunk, ReplayWorkerInput, ReplayWorkerMessage } from './replay-worker.js';

export interface ReplayWorker {
  /** Resolves once every chunk was handed to `onChunk`; rejects with why the worker failed (a CorruptLogError as such). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a thread that scans and folds logs of `input.logs`, taking them from the shared count
 * `input.next` (see replay-worker.ts). Its chunks reach `onChunk` in order, as this thread's event
 * loop takes them in.
 */
export function startReplayWorker(input: ReplayWorkerInput, onChunk: (chunk: ReplayChunk) => void): ReplayWorker {
  const worker = new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: input });
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: ReplayWorkerMessage) => {
      if (message.type === 'chunk') onChunk(message);
      else if (message.type === 'done') resolve();
      else if (message.corrupt) reject(new CorruptLogError(message.corrupt.file, message.corrupt.line, message.corrupt.reason));
      else reject(new Error(`a replay worker failed: ${message.message}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`a replay worker exited (code ${code}) before it finished`)));
  });
  done.catch(() => {}); // seen by whoever awaits it; not an unhandled rejection meanwhile
  return { done, stop: async () => void (await worker.terminate()) };
}
