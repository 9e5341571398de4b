// Running `count` jobs on `workers` concurrent workers, each with its own
// state (e.g. its own CRI connection). The first failure (or an abort) stops
// every worker from taking new jobs; the call returns only once all of them
// have finished the job in hand, so that nothing runs on behind the caller.
import { Interrupted } from './cleanup';

export async function runPool<W, T>(opts: {
  count: number;
  workers: number;
  makeWorker: (index: number) => W;
  job: (worker: W, index: number) => Promise<T>;
  signal?: AbortSignal;
  closeWorker?: (worker: W) => void;
}): Promise<T[]> {
  const results: T[] = new Array<T>(opts.count);
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(opts.workers, opts.count) }, (_x, i) => opts.makeWorker(i));
  try {
    const settled = await Promise.allSettled(
      workers.map(async (w) => {
        for (;;) {
          if (failed) return;
          if (opts.signal?.aborted) throw new Interrupted();
          const i = next++;
          if (i >= opts.count) return;
          try {
            results[i] = await opts.job(w, i);
          } catch (err) {
            failed = true;
            throw err;
          }
        }
      }),
    );
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
  } finally {
    if (opts.closeWorker) for (const w of workers) opts.closeWorker(w);
  }
  return results;
}
