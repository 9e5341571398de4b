// Joins duplicate work: a second call with the same key while the first is
// still running gets the first call's result instead of starting again.
// This is how a kubelet retry of CreateContainer/RunPodSandbox after its own
// deadline joins the creation still in flight rather than failing with
// "name is reserved".
export class InFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.running.get(key);
    if (existing) return { promise: existing, joined: true };
    const promise = (async () => {
      try {
        return await fn();
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, promise);
    return { promise, joined: false };
  }

  has(key: string): boolean {
    return this.running.has(key);
  }
}
