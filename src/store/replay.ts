import { Worker } from 'node:worker_threads';
import type { ReplayWorkerInput, ReplayWorkerOutput } from './replay-worker.js';

export interface ReplayWorker {
  /** What the worker found; a worker that crashes or exits early answers `ok: false` with why. */
  output: Promise<ReplayWorkerOutput>;
  stop(): Promise<void>;
}

/** Starts a thread that scans and folds `logs` (see replay-worker.ts). */
export function startReplayWorker(module: string, logs: ReplayWorkerInput['logs'], progress: SharedArrayBuffer): ReplayWorker {
  const worker = new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: { module, logs, progress } satisfies ReplayWorkerInput });
  const output = new Promise<ReplayWorkerOutput>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (error) => resolve({ ok: false, message: error.stack ?? error.message }));
    worker.once('exit', (code) => resolve({ ok: false, message: `the worker exited (code ${code}) before it answered` }));
  });
  return { output, stop: async () => void (await worker.terminate()) };
}
