// Where the cgroup hierarchies are mounted on this host, read from
// /proc/self/mountinfo: pure v2 (unified), or v1 with one mount per
// hierarchy, possibly with a controller-less v2 mount beside it (hybrid).
import { readFile } from 'node:fs/promises';
import { unescapeMountPath } from '../util/mountinfo';

export interface CgroupLayout {
  /** 2 when the unified hierarchy holds the controllers; 1 for v1 and hybrid hosts. */
  version: 1 | 2;
  /** v1: controller (or "name=systemd") → its hierarchy's mount point. Empty on v2. */
  controllers: Record<string, string>;
  /** The cgroup2 mount point, if any (on hybrid hosts it has no controllers). */
  unified?: string;
  /** Every hierarchy's mount point, each once: a cgroup lives in all of them. */
  hierarchies: string[];
}

const V1_OPTIONS_NOT_CONTROLLERS: ReadonlySet<string> = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'xattr', 'nsdelegate', 'memory_recursiveprot', 'memory_localevents', 'favordynmods']);

/** Parses mountinfo text. Only mounts of a hierarchy's root ("/") count; bind mounts of subtrees are skipped. */
export function parseCgroupLayout(mountinfo: string): CgroupLayout {
  const controllers: Record<string, string> = {};
  const hierarchies: string[] = [];
  const seenSuper = new Set<string>();
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const root = unescapeMountPath(pre[3] ?? '');
    const mountPoint = unescapeMountPath(pre[4] ?? '');
    const fstype = post[0];
    const superOptions = post[2] ?? '';
    if (root !== '/') continue;
    if (fstype === 'cgroup2') {
      if (unified === undefined) {
        unified = mountPoint;
        hierarchies.push(mountPoint);
      }
      continue;
    }
    if (fstype !== 'cgroup') continue;
    const names = superOptions.split(',').filter((o) => !V1_OPTIONS_NOT_CONTROLLERS.has(o) && !o.startsWith('release_agent='));
    const key = [...names].sort().join(',');
    if (names.length === 0 || seenSuper.has(key)) continue;
    seenSuper.add(key);
    hierarchies.push(mountPoint);
    for (const name of names) controllers[name] = mountPoint;
  }
  const realControllers = Object.keys(controllers).filter((c) => !c.startsWith('name='));
  const version = realControllers.length === 0 && unified !== undefined ? 2 : 1;
  return { version, controllers: version === 2 ? {} : controllers, unified, hierarchies };
}

export async function detectCgroupLayout(): Promise<CgroupLayout> {
  return parseCgroupLayout(await readFile('/proc/self/mountinfo', 'utf8'));
}
