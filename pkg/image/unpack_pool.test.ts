import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { defaultConfig } from '../config/config';
import { DEFAULT_MAX_ENTRIES, LayerLimitError } from '../storage/unpack_limits';
import { UnpackPool, workerResourceLimits } from './unpack_pool';

test('worker heaps are sized for the largest layer the limits allow', () => {
  expect(DEFAULT_MAX_ENTRIES).toBe(defaultConfig().image.max_layer_entries);
  expect(workerResourceLimits({ maxEntries: 1_000_000, zstdWindowLogMax: 27 })).toEqual({ maxOldGenerationSizeMb: 638, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 });
  expect(workerResourceLimits({ maxEntries: 1, zstdWindowLogMax: 27 }).maxOldGenerationSizeMb).toBe(257);
});

test('a worker that runs out of its heap fails its layer, not the daemon', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'krill-pool-'));
  // Stands in for a layer whose bookkeeping outgrows the heap.
  const worker = join(dir, 'greedy.js');
  writeFileSync(worker, 'const keep = []; for (;;) keep.push({ path: `usr/lib/${keep.length}/${Math.random()}` });\n');
  const pool = new UnpackPool(1, { maxEntries: 1, zstdWindowLogMax: 27 }, worker);
  try {
    const job = { dir, digest: 'sha256:x', size: 1, diffId: 'sha256:y', what: 'layer sha256:x' };
    const err = await pool.unpack(job, async () => Readable.from([Buffer.from('x')]), { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerLimitError);
    expect((err as Error).message).toBe("needs more memory to unpack than its worker's 257 MiB heap (sized for image.max_layer_entries = 1)");
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
