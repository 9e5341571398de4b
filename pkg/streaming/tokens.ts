// Single-use tokens for streaming URLs: each names one cached request, is
// random (128 bits, URL-safe), expires after a TTL and is gone once used.
import { randomBytes } from 'node:crypto';

export type Clock = () => number;

export class TokenStoreFullError extends Error {
  constructor(max: number) {
    super(`too many streaming requests in flight (${max}); try again later`);
    this.name = 'TokenStoreFullError';
  }
}

export class TokenStore<T> {
  // Insertion order is expiry order (one TTL for all), so expired entries sit at the front.
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxInFlight = 1000,
    private readonly now: Clock = Date.now,
  ) {}

  insert(value: T): string {
    this.collect();
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
    return this.now() > entry.expires ? undefined : entry.value;
  }

  get size(): number {
    this.collect();
    return this.entries.size;
  }

  private collect(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (now <= entry.expires) return;
      this.entries.delete(token);
    }
  }
}
