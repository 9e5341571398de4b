// Counted, in-memory leases on names (blob digests, layer chain IDs): work in
// flight protects what it needs from garbage collection until it lets go.
export class Leases {
  private readonly counts = new Map<string, number>();

  /** Leases every name once; the returned function releases them (only the first call counts). */
  take(names: Iterable<string>): () => void {
    const ids = [...new Set(names)];
    for (const id of ids) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const id of ids) {
        const n = (this.counts.get(id) ?? 1) - 1;
        if (n <= 0) this.counts.delete(id);
        else this.counts.set(id, n);
      }
    };
  }

  has(name: string): boolean {
    return this.counts.has(name);
  }
}
