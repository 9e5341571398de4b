// Wall-clock time in nanoseconds since the epoch, as CRI timestamps are: the
// one clock every timestamp Krill reports comes from.
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** Milliseconds since the epoch (a file's mtime, Date.now()) in CRI nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}
