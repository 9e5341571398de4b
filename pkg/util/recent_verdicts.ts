// Verdicts about objects that cost I/O to make (is a pod's infra alive, are
// its namespaces still mounted) and are asked for in bulk and often (kubelet
// lists every pod every second). A verdict at most `maxAgeMs` old is reused;
// an older one is returned while a new check runs in the background (one per
// object at a time), so only the first ask for an object waits on the check.
// Keys are the immutable records themselves: a record replaced by a new
// status is a new key (checked afresh), a dropped one frees its entry.
export class RecentVerdicts<K extends object, V> {
  private readonly last = new WeakMap<K, { at: number; value: V }>();
  private readonly running = new WeakMap<K, Promise<V>>();

  constructor(
    private readonly check: (key: K) => Promise<V>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Remembers a verdict just made by the caller (a fresh check elsewhere). */
  record(key: K, value: V): void {
    this.last.set(key, { at: this.now(), value });
  }

  /** The recent verdict, the previous one while a new check runs, or the first check's promise. */
  get(key: K): V | Promise<V> {
    const last = this.last.get(key);
    if (last && this.now() - last.at <= this.maxAgeMs) return last.value;
    let running = this.running.get(key);
    if (!running) {
      running = this.check(key).then((value) => {
        this.record(key, value);
        return value;
      });
      const settled = (): void => {
        this.running.delete(key);
      };
      running.then(settled, settled);
      this.running.set(key, running);
    }
    return last ? last.value : running;
  }
}
