// A small pool of unpack worker threads (unpack_worker.ts). The main thread
// reads a layer from the registry and hands the bytes to a worker, which
// checks, decompresses and unpacks them; the HTTP stream is paused while a
// worker has more than a few MiB unconsumed. A job's promise settles only
// once its worker has stopped touching the layer directory, so the caller
// may delete it right after a failure. Workers run with heap limits: a layer
// that outgrows them ends its worker, not krilld.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { UnpackResult } from '../storage/unpack';
import { LayerLimitError } from '../storage/unpack_limits';
import { remoteError, type FromWorker, type LayerLimits, type ToWorker, type UnpackJob } from './unpack_job';
import { VerifyError } from './verify';

const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;
const ABORT_GRACE_MS = 10_000;
/** An idle worker is ended after this long (its memory back to the node). */
const IDLE_MS = 30_000;
/** A worker's heap: a base, plus room for what it keeps per entry (~200 bytes measured, with typical paths). */
const HEAP_BASE_MIB = 256;
const HEAP_BYTES_PER_ENTRY = 400;

/**
 * Memory limits of a worker thread, sized for the largest layer the limits
 * allow: a layer beyond them kills only its worker, not krilld. Buffers
 * (data in flight, the zstd window, xattrs) live outside this heap and have
 * bounds of their own.
 */
export function workerResourceLimits(limits: LayerLimits): ResourceLimits {
  return {
    maxOldGenerationSizeMb: HEAP_BASE_MIB + Math.ceil((limits.maxEntries * HEAP_BYTES_PER_ENTRY) / 2 ** 20),
    maxYoungGenerationSizeMb: 32,
    stackSizeMb: 4,
  };
}

export interface UnpackOptions {
  signal: AbortSignal;
  /** Each chunk's size as it arrives from the registry (progress). */
  onBytes?: (n: number) => void;
  onWarning?: (message: string) => void;
}

export class UnpackPool {
  private readonly idle: Worker[] = [];
  private readonly idleTimers = new Map<Worker, NodeJS.Timeout>();
  private readonly waiting: ((w: Worker) => void)[] = [];
  private count = 0;
  private closed = false;
  /** The error a worker died of (out of memory, for one), for the job it was running. */
  private readonly deaths = new WeakMap<Worker, Error>();
  readonly resourceLimits: ResourceLimits;

  constructor(
    readonly size: number,
    readonly limits: LayerLimits,
    private readonly workerFile = join(__dirname, 'unpack_worker.js'),
  ) {
    this.resourceLimits = workerResourceLimits(limits);
  }

  private spawn(): Worker {
    const w = new Worker(this.workerFile, { resourceLimits: this.resourceLimits });
    w.unref();
    w.on('error', (err) => this.deaths.set(w, err));
    w.once('exit', () => {
      this.count--;
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
    });
    this.count++;
    return w;
  }

  private acquire(): Promise<Worker> {
    if (this.closed) return Promise.reject(new Error('the unpack pool is closed'));
    const w = this.idle.pop();
    if (w) {
      clearTimeout(this.idleTimers.get(w));
      this.idleTimers.delete(w);
      return Promise.resolve(w);
    }
    if (this.count < this.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(w: Worker, healthy: boolean): void {
    if (!healthy || this.closed) {
      void w.terminate();
      if (!this.closed && this.waiting.length > 0) this.waiting.shift()!(this.spawn());
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      next(w);
      return;
    }
    this.idle.push(w);
    const timer = setTimeout(() => {
      this.idleTimers.delete(w);
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      void w.terminate();
    }, IDLE_MS);
    timer.unref();
    this.idleTimers.set(w, timer);
  }

  /**
   * Verifies and unpacks a compressed layer into `job.dir` on a worker
   * thread. `open` starts the download once a worker is free, so that no
   * response sits unread while it waits.
   */
  async unpack(job: UnpackJob, open: () => Promise<Readable>, opts: UnpackOptions): Promise<UnpackResult> {
    const w = await this.acquire();
    let healthy = true;
    try {
      const body = await open();
      return await new Promise<UnpackResult>((resolve, reject) => {
        let inflight = 0;
        let received = 0;
        let paused = false;
        let failure: Error | undefined;
        let aborting = false;
        let graceTimer: NodeJS.Timeout | undefined;
        const send = (m: ToWorker): void => {
          if (m.t !== 'data') return void w.postMessage(m);
          // A copy of just this chunk, moved (not cloned again) to the worker.
          const ab = m.chunk.buffer.slice(m.chunk.byteOffset, m.chunk.byteOffset + m.chunk.byteLength) as ArrayBuffer;
          w.postMessage({ t: 'data', chunk: new Uint8Array(ab) }, [ab]);
        };
        const cleanup = (): void => {
          w.off('message', onMessage);
          w.off('exit', onExit);
          body.off('data', onData);
          body.off('end', onEnd);
          body.off('error', onBodyError);
          opts.signal.removeEventListener('abort', onAbort);
          if (graceTimer) clearTimeout(graceTimer);
        };
        const settle = (err: Error | undefined, result?: UnpackResult): void => {
          cleanup();
          if (err) reject(err);
          else resolve(result!);
        };
        // Stop the worker's job; the promise settles when the worker confirms it stopped.
        const abort = (err: Error): void => {
          failure ??= err;
          if (aborting) return;
          aborting = true;
          body.destroy();
          send({ t: 'abort' });
          graceTimer = setTimeout(() => {
            healthy = false;
            settle(failure);
          }, ABORT_GRACE_MS);
        };
        const onMessage = (m: FromWorker): void => {
          if (m.t === 'ack') {
            inflight -= m.bytes;
            if (paused && inflight < LOW_WATER) {
              paused = false;
              body.resume();
            }
          } else if (m.t === 'warn') {
            opts.onWarning?.(m.message);
          } else if (m.t === 'done') {
            if (failure) settle(failure);
            else settle(undefined, m.result);
          } else {
            settle(failure ?? remoteError(m.name, m.message));
          }
        };
        const onExit = (): void => {
          healthy = false;
          settle(failure ?? this.deathError(w, job));
        };
        const onData = (chunk: Buffer): void => {
          received += chunk.length;
          if (received > job.size) {
            abort(new VerifyError(`${job.what}: the registry sent more than the ${job.size} bytes its descriptor declares`));
            return;
          }
          opts.onBytes?.(chunk.length);
          inflight += chunk.length;
          send({ t: 'data', chunk });
          if (inflight > HIGH_WATER && !paused) {
            paused = true;
            body.pause();
          }
        };
        const onEnd = (): void => send({ t: 'end' });
        const onBodyError = (err: Error): void => abort(err);
        const onAbort = (): void => abort(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('unpack cancelled'));
        w.on('message', onMessage);
        w.once('exit', onExit);
        send({ t: 'start', job, limits: this.limits });
        body.on('data', onData);
        body.once('end', onEnd);
        body.once('error', onBodyError);
        if (opts.signal.aborted) onAbort();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      this.release(w, healthy);
    }
  }

  private deathError(w: Worker, job: UnpackJob): Error {
    const err = this.deaths.get(w);
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new LayerLimitError(`needs more memory to unpack than its worker's ${this.resourceLimits.maxOldGenerationSizeMb} MiB heap (sized for image.max_layer_entries = ${this.limits.maxEntries})`);
    }
    return new Error(`the unpack worker for ${job.what} exited${err ? `: ${err.message}` : ''}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
