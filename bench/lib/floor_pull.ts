// The pull benchmark's floor: an image's layers fetched from the same
// registry and unpacked with no runtime in between, `curl <blob> | tar -x`
// into a fresh directory per layer (as a snapshotter unpacks each layer into
// its own), keeping owners, modes and every xattr as the runtimes do. Either
// one layer after another or all at once. Making and removing the
// directories is not timed. Nothing is verified (the runtimes check every
// layer's digest), and the blob's bytes are only read once from the socket.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './exec';
import { blobUrl, decompressorOf, type Decompressor, type ImageLayers } from './registry_layers';

/** What GNU tar keeps: owners as numbers (the runtimes never map names), modes, all xattrs (security.capability too). */
export const TAR_KEEP = ['--xattrs', '--xattrs-include=*', '--same-owner', '--numeric-owner', '-p'];

/** tar's decompression flag (tar runs gzip -d or zstd -d itself). */
const TAR_DECOMPRESS: Record<Decompressor, string> = { gzip: ' -z', zstd: ' --zstd', none: '' };

/** The pipeline that fetches blob $1 and unpacks it into directory $2. */
export function extractScript(d: Decompressor): string {
  return `curl -sSf --max-time 600 "$1" | tar -x${TAR_DECOMPRESS[d]} -f - -C "$2" ${TAR_KEEP.map((a) => `'${a}'`).join(' ')}`;
}

/** bash's argv for unpacking one layer (pipefail: a failing curl fails it). */
export function extractArgs(url: string, dir: string, d: Decompressor): string[] {
  return ['-o', 'pipefail', '-c', extractScript(d), 'floor-pull', url, dir];
}

export interface FloorPullOptions {
  registry: string;
  image: ImageLayers;
  /** The fresh directories are made below it. */
  scratch: string;
  parallel: boolean;
  signal?: AbortSignal;
}

/** Seconds to fetch and unpack every layer of the image. */
export async function floorPull(o: FloorPullOptions): Promise<number> {
  const { layers } = o.image;
  const dirs = await Promise.all(layers.map((_l, i) => mkdtemp(join(o.scratch, `layer${i}-`))));
  const one = async (i: number): Promise<void> => {
    const l = layers[i]!;
    await runChecked('bash', extractArgs(blobUrl(o.registry, o.image.repository, l.digest), dirs[i]!, decompressorOf(l.mediaType)), {
      timeoutMs: 900_000,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  };
  try {
    const start = performance.now();
    if (o.parallel) {
      const results = await Promise.allSettled(layers.map((_l, i) => one(i)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } else {
      for (let i = 0; i < layers.length; i++) await one(i);
    }
    return (performance.now() - start) / 1000;
  } finally {
    // Retries: after an abort, a killed pipeline's tar may still be writing for a moment.
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 10 })));
  }
}
