// Single-use tokens for streaming URLs: each names one cached request, is
// random (128 bits, URL-safe), expires after a TTL and is gone once used.
// An entry that expires unused is handed to `onExpire` (to give back what it holds).
import { randomBytes } from 'node:crypto';

export type Clock = () => number;

export class TokenStoreFullError extends Error {
  constructor(max: number) {
    super(`too many streaming requests in flight (${max}); try again later`);
    this.name = 'TokenStoreFullError';
  }
}

export class TokenStore<T> {
  // Insertion order is expiry order (one TTL for all), so expired entries sit at the front;
  // after the TTL shrank (setTtl) that holds again only once the older entries are gone.
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private ordered = true;

  constructor(
    private ttlMs: number,
    private readonly maxInFlight = 1000,
    private readonly now: Clock = Date.now,
    private readonly onExpire: (value: T) => void = () => undefined,
  ) {}

  insert(value: T): string {
    this.prune();
    if (this.entries.size >= this.maxInFlight) throw new TokenStoreFullError(this.maxInFlight);
    let token: string;
    do token = randomBytes(16).toString('base64url');
    while (this.entries.has(token));
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** Removes the token and returns its value; undefined when unknown, used or expired. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (this.now() <= entry.expires) return entry.value;
    this.onExpire(entry.value);
    return undefined;
  }

  get size(): number {
    this.prune();
    return this.entries.size;
  }

  /** The TTL of tokens issued from now on (a reload); those issued keep theirs. */
  setTtl(ttlMs: number): void {
    if (ttlMs < this.ttlMs && this.entries.size > 0) this.ordered = false;
    this.ttlMs = ttlMs;
  }

  /** Drops the expired entries (each through onExpire). */
  prune(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (now <= entry.expires) {
        if (this.ordered) return;
        continue;
      }
      this.entries.delete(token);
      this.onExpire(entry.value);
    }
    if (this.entries.size === 0) this.ordered = true;
  }
}
