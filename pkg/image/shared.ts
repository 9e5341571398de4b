// Work shared by every caller that asks for the same key while it runs (two
// pulls of one image, two images sharing a layer). Each caller may give up on
// its own (its client cancelled); the work itself is aborted only when every
// caller has given up, and a caller that arrives after that starts afresh.

interface Entry<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

export class SharedWork<T> {
  private readonly running = new Map<string, Entry<T>>();
  /** Works aborted because nobody waits any more, until they have cleaned up. */
  private readonly draining = new Set<Promise<T>>();

  run(key: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): { promise: Promise<T>; joined: boolean } {
    if (signal?.aborted) return { promise: Promise.reject(signal.reason as Error), joined: false };
    let entry = this.running.get(key);
    const joined = entry !== undefined;
    if (!entry) {
      const controller = new AbortController();
      const created: Entry<T> = { controller, waiters: 0, promise: undefined as unknown as Promise<T> };
      created.promise = (async () => {
        try {
          return await fn(controller.signal);
        } finally {
          if (this.running.get(key) === created) this.running.delete(key);
        }
      })();
      // Every waiter handles the outcome; a work nobody waits for any more must not be an unhandled rejection.
      created.promise.catch(() => undefined);
      this.running.set(key, created);
      entry = created;
    }
    entry.waiters++;
    const e = entry;
    const promise = new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        e.waiters--;
        if (e.waiters === 0) {
          if (this.running.get(key) === e) this.running.delete(key);
          this.draining.add(e.promise);
          const done = (): void => void this.draining.delete(e.promise);
          e.promise.then(done, done);
          e.controller.abort(signal!.reason);
        }
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      e.promise.then(
        (v) => {
          if (settled) return;
          settled = true;
          e.waiters--;
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          e.waiters--;
          signal?.removeEventListener('abort', onAbort);
          reject(err as Error);
        },
      );
    });
    return { promise, joined };
  }

  /** Resolves once every aborted work has finished (and so cleaned up after itself). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.draining]);
  }

  has(key: string): boolean {
    return this.running.has(key);
  }

  /** Aborts everything still running (shutdown). */
  abortAll(reason: Error): void {
    for (const e of this.running.values()) e.controller.abort(reason);
    this.running.clear();
  }
}
