// Wall-clock time in nanoseconds since the epoch, as CRI timestamps are.
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}
