// Removing a directory tree safely: never through a mount (that would
// delete what the mount shows).
import { rm } from 'node:fs/promises';
import { run } from './exec';
import { mountsUnder } from '../../pkg/storage/mount';

/**
 * Unmounts whatever is still mounted under `dir` (deepest first), then deletes
 * it. Returns the mounts that were left (a leak of whoever made them).
 */
export async function removeTree(dir: string): Promise<string[]> {
  const left = mountsUnder(dir);
  for (const m of [...left].sort((a, b) => b.length - a.length)) {
    const r = await run('umount', [m]);
    if (r.code !== 0) await run('umount', ['-l', m]);
  }
  const still = mountsUnder(dir);
  if (still.length > 0) throw new Error(`cannot unmount ${still.join(', ')}; not deleting ${dir}`);
  await rm(dir, { recursive: true, force: true });
  return left;
}
