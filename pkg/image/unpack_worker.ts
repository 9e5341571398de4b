// The body of an unpack worker thread: hashing, decompression and writing a
// layer's files are CPU work that would otherwise all run on krilld's one
// JavaScript thread; a few workers spread it over the node's cores. One job
// at a time; chunks are acknowledged as they are consumed (flow control).
import { parentPort } from 'node:worker_threads';
import { runUnpackJob, type FromWorker, type LayerLimits, type ToWorker, type UnpackJob } from './unpack_job';

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

class ChunkQueue implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  fail(err: Error): void {
    this.failure = err;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const c = this.chunks.shift();
      if (c) {
        post({ t: 'ack', bytes: c.length });
        yield c;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/** The worker's one job at a time, as its messages drive it. */
class Worker {
  private current: { queue: ChunkQueue; controller: AbortController } | undefined;

  handle(m: ToWorker): void {
    switch (m.t) {
      case 'start':
        this.start(m.job, m.limits);
        break;
      case 'data':
        this.current?.queue.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
        break;
      case 'end':
        this.current?.queue.end();
        break;
      case 'abort': {
        const err = new Error('unpack aborted');
        err.name = 'AbortError';
        this.current?.controller.abort(err);
        this.current?.queue.fail(err);
        break;
      }
    }
  }

  private start(job: UnpackJob, limits: LayerLimits): void {
    const queue = new ChunkQueue();
    const controller = new AbortController();
    this.current = { queue, controller };
    runUnpackJob(job, limits, queue, controller.signal, (message) => post({ t: 'warn', message })).then(
      (result) => {
        this.current = undefined;
        post({ t: 'done', result });
      },
      (err: unknown) => {
        this.current = undefined;
        const e = err instanceof Error ? err : new Error(String(err));
        post({ t: 'error', name: e.name, message: e.message });
      },
    );
  }
}

const worker = new Worker();
port.on('message', (m: ToWorker) => worker.handle(m));
