// Krill's directories on the node and their modes: one table, applied at
// start (chmod'ing directories an older, more open krilld made) and read by
// the permission tests. Objects below them (a pod's, a container's) get
// their own directories from their managers, private as well.
import { join } from 'node:path';
import { ensureDir, PRIVATE_DIR } from '../util/modes';

/**
 * Traversable, not listable: a user-namespaced pod's runtime runs as the
 * pod's remapped root when it pivots into its root filesystem, so the path to
 * its bundle (<state>/containers/<id>, 0710 with the pod's group) must be
 * searchable by that user. Nothing else below these two is.
 */
export const TRAVERSE_ONLY_DIR = 0o711;

export interface KrillDirs {
  root: string;
  state: string;
}

export interface LayoutEntry {
  path: string;
  mode: number;
  /** Why it is more open than 0700, when it is. */
  why?: string;
}

/** The directories krilld makes at start, in creation order. */
export function layout({ root, state }: KrillDirs): LayoutEntry[] {
  const traverse = 'the runtime of a user-namespaced pod reaches its bundle through it';
  return [
    { path: root, mode: PRIVATE_DIR },
    { path: join(root, 'content'), mode: PRIVATE_DIR },
    { path: join(root, 'layers'), mode: PRIVATE_DIR },
    { path: join(root, 'containers'), mode: PRIVATE_DIR },
    { path: join(root, 'containers-fs'), mode: PRIVATE_DIR },
    { path: join(root, 'pods'), mode: PRIVATE_DIR },
    { path: join(root, 'cni'), mode: PRIVATE_DIR },
    { path: state, mode: TRAVERSE_ONLY_DIR, why: traverse },
    { path: join(state, 'containers'), mode: TRAVERSE_ONLY_DIR, why: traverse },
    { path: join(state, 'pods'), mode: TRAVERSE_ONLY_DIR, why: 'the runtime of a user-namespaced pod reaches its infra bundle through it' },
    { path: join(state, 'ns'), mode: PRIVATE_DIR },
    { path: join(state, 'exec'), mode: PRIVATE_DIR },
    { path: join(state, 'exits'), mode: PRIVATE_DIR },
    { path: join(state, 'attach'), mode: PRIVATE_DIR },
    { path: join(state, 'runtime'), mode: PRIVATE_DIR },
  ];
}

/** Makes every directory of the layout with its mode (existing ones are chmod'ed). */
export async function prepareLayout(dirs: KrillDirs): Promise<void> {
  for (const { path, mode } of layout(dirs)) await ensureDir(path, mode);
}
