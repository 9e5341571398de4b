// What every benchmark gets: the runtimes under test, the floor, the images,
// the cleanup stack, and the size scale of this run.
import type { Cleanup } from './cleanup';
import type { Floor } from './floor';
import type { CriRuntime } from './runtime';

export interface BenchImages {
  /** busybox (hack/test-images compress-gzip): the workload of every pod. */
  busybox: string;
  /** containerd's sandbox image (bench/images.sh). */
  pause: string;
}

export interface BenchContext {
  krill: CriRuntime;
  containerd: CriRuntime;
  floor: Floor;
  images: BenchImages;
  registry: string;
  cleanup: Cleanup;
  /** Multiplies every benchmark's sample counts and sizes (1 = the published sizes). */
  scale: number;
  /** The runtimes' root directories (disk use). */
  roots: { krill: string; containerd: string };
}

/** `n` scaled, at least `min`. */
export function scaled(ctx: BenchContext, n: number, min = 1): number {
  return Math.max(min, Math.round(n * ctx.scale));
}
