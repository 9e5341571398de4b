// Removes the (empty) cgroup directories a test created under its
// testCgroupParent() prefix, deepest first, in every v1 hierarchy and v2.
import { readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';

function removeTree(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const child = join(dir, e);
    try {
      if (statSync(child).isDirectory()) removeTree(child);
    } catch {
      // gone meanwhile
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // still in use: the leak check will say so
  }
}

/** `parent` is what testCgroupParent() returned, or its first path element. */
export function removeTestCgroups(parent: string): void {
  const top = parent.split('/').filter(Boolean)[0];
  if (!top || !top.startsWith('krill-it-')) throw new Error(`refusing to remove cgroup ${parent}`);
  for (const hierarchy of readdirSync(ROOT)) removeTree(join(ROOT, hierarchy, top));
}
