// The bench puts every pod of every runtime under one cgroupfs parent of its
// own (like kubelet's /kubepods), and removes that tree at the end.
import { readdir, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';

async function hierarchies(): Promise<string[]> {
  return (await readdir(ROOT)).map((h) => join(ROOT, h));
}

/** Removes one empty cgroup directory in every hierarchy; fine when absent. */
export async function removeCgroup(path: string): Promise<void> {
  for (const h of await hierarchies()) await rmdir(join(h, path)).catch(() => undefined);
}

async function removeDeepestFirst(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const busy: string[] = [];
  for (const e of entries) {
    const child = join(dir, e);
    const st = await stat(child).catch(() => undefined);
    if (st?.isDirectory()) busy.push(...(await removeDeepestFirst(child)));
  }
  try {
    await rmdir(dir);
  } catch {
    busy.push(dir);
  }
  return busy;
}

/** Removes `root` (a bench cgroup parent) with everything below it; returns what could not go (still in use). */
export async function removeCgroupTree(root: string): Promise<string[]> {
  if (!/^\/krill-bench-[a-z0-9]+$/.test(root)) throw new Error(`refusing to remove cgroup tree ${root}`);
  const busy: string[] = [];
  for (const h of await hierarchies()) busy.push(...(await removeDeepestFirst(join(h, root))));
  return busy;
}
