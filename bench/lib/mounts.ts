// Mount points under a directory, and removing a directory tree safely:
// never through a mount (that would delete what the mount shows).
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { run } from '../../pkg/util/exec';

export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountPoints().filter((m) => m === dir || m.startsWith(prefix));
}

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
