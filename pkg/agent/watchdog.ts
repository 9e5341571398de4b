// The informer watchdog: client-node's ListWatch stops for good on any error but
// 410 Gone (which it answers itself with a fresh LIST). The watchdog starts it
// again after a backoff that grows with failures in a row and resets once a
// watch has stayed up for a while. The clock is injected (fake in tests).
import type { Informer } from './types';
import { httpStatus } from './types';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** A watch that stayed up this long resets the failure count. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, stableMs: 60_000 };

/** Pure: the delay before the next start after an error. */
export class Backoff {
  private failures = 0;
  private connectedAt: number | undefined;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {}

  connected(now: number): void {
    this.connectedAt = now;
  }

  /** The delay before restarting after `err`. A 410 that reaches here (say, on the LIST) relists at once. */
  failed(err: unknown, now: number): number {
    if (httpStatus(err) === 410) return 0;
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.policy.stableMs) this.failures = 0;
    this.connectedAt = undefined;
    const delay = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** this.failures);
    this.failures++;
    return delay;
  }

  get failuresInARow(): number {
    return this.failures;
  }
}

export interface WatchdogHooks {
  /** A watch (re)connected: count it. */
  onConnect?(): void;
  /** The informer stopped on an error and will restart after `delayMs`. */
  onError?(err: unknown, delayMs: number): void;
}

/** Runs an informer and restarts it whenever it stops on an error, until stop(). */
export class Watchdog<T> {
  private readonly backoff: Backoff;
  private timer: { cancel(): void } | undefined;
  private stopped = false;
  private up = false;

  constructor(
    private readonly informer: Informer<T>,
    private readonly clock: Clock = realClock,
    private readonly hooks: WatchdogHooks = {},
    policy: BackoffPolicy = DEFAULT_BACKOFF,
  ) {
    this.backoff = new Backoff(policy);
    informer.on('connect', () => {
      this.up = true;
      this.backoff.connected(this.clock.now());
      this.hooks.onConnect?.();
    });
    informer.on('error', (err) => this.failed(err));
  }

  /** Whether the last (re)start has connected and not failed since. */
  get watching(): boolean {
    return this.up && !this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.launch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.up = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.informer.stop();
  }

  private launch(): void {
    this.timer = undefined;
    if (this.stopped) return;
    // start() rejects only when the first LIST fails; the 'error' callback has reported that already.
    this.informer.start().catch(() => undefined);
  }

  private failed(err: unknown): void {
    this.up = false;
    if (this.stopped) return; // the abort of our own stop()
    const delay = this.backoff.failed(err, this.clock.now());
    this.hooks.onError?.(err, delay);
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.launch(), delay);
  }
}
