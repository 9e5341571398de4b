// The cgroups driver: one object per host layout and cgroup driver. It turns
// kubelet's cgroup parents into paths, creates and removes cgroup directories
// (cgroupfs only: under systemd the slices belong to systemd), and reads usage.
// Containers and pods both use it.
import { chmod, mkdir, readFile, readdir, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isErrno } from '../errors/errors';
import { detectCgroupLayout, type CgroupLayout } from './layout';
import { ancestorsAndSelf, containerCgroup, podCgroupPath, type CgroupDriverName, type ContainerCgroup } from './paths';
import { readPseudoFile } from './read_pseudo';
import { readV1Stats, readV2Stats, type CgroupStats } from './stats';

const CGROUP_DIR_MODE = 0o755;

const BUSY_RETRIES = 10;
const BUSY_DELAY_MS = 20;

export class Cgroups {
  constructor(
    readonly layout: CgroupLayout,
    readonly driver: CgroupDriverName,
  ) {}

  static async detect(driver: CgroupDriverName): Promise<Cgroups> {
    return new Cgroups(await detectCgroupLayout(), driver);
  }

  get version(): 1 | 2 {
    return this.layout.version;
  }

  /** The pod cgroup for kubelet's cgroup parent (see paths.ts). */
  podPath(parent: string): string {
    return podCgroupPath(this.driver, parent);
  }

  containerCgroup(parent: string, id: string): ContainerCgroup {
    return containerCgroup(this.driver, parent, id);
  }

  /** The absolute directory of `path` in each hierarchy. */
  dirs(path: string): string[] {
    return this.layout.hierarchies.map((h) => join(h, path));
  }

  /** The directory usage and membership are read from: the memory hierarchy on v1, the unified one on v2. */
  primaryDir(path: string): string | undefined {
    const root = this.layout.version === 2 ? this.layout.unified : (this.layout.controllers.memory ?? this.layout.controllers.pids ?? this.layout.hierarchies[0]);
    return root === undefined ? undefined : join(root, path);
  }

  async exists(path: string): Promise<boolean> {
    const dir = this.primaryDir(path);
    if (dir === undefined) return false;
    try {
      return (await stat(dir)).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Creates `path` (and missing ancestors) in every hierarchy; returns the
   * paths this call created, outermost first, so that the caller can record
   * what is its to remove. Under the systemd driver nothing is created.
   * On failure, whatever this call created is removed again.
   */
  async ensure(path: string): Promise<string[]> {
    if (this.driver === 'systemd') return [];
    const created: string[] = [];
    const cpusetRoot = this.layout.version === 1 ? this.layout.controllers.cpuset : undefined;
    const v2Root = this.layout.version === 2 ? this.layout.unified : undefined;
    try {
      for (const rel of ancestorsAndSelf(path)) {
        let made = false;
        for (const h of this.layout.hierarchies) {
          const dir = join(h, rel);
          try {
            await mkdir(dir);
            made = true;
            // As runc makes them: the runtime of a user-namespaced pod reads its parents (krilld's umask is 077).
            await chmod(dir, CGROUP_DIR_MODE);
            if (h === cpusetRoot) await inheritCpuset(dir);
            if (h === v2Root) await enableControllers(dirname(dir));
          } catch (err) {
            if (!isErrno(err, 'EEXIST')) throw err;
          }
        }
        if (made) created.push(rel);
      }
      return created;
    } catch (err) {
      for (const rel of [...created].reverse()) await this.removeIfEmpty(rel).catch(() => false);
      throw err;
    }
  }

  /**
   * Removes `path` from every hierarchy if it has no tasks and no children.
   * Returns false when it is still in use (it is then left everywhere it
   * could not be removed). A path that does not exist counts as removed.
   */
  async removeIfEmpty(path: string): Promise<boolean> {
    let removedAll = true;
    for (const dir of this.dirs(path)) {
      if (!(await rmdirPatiently(dir))) removedAll = false;
    }
    return removedAll;
  }

  /** Usage of `path`; `detailed` adds what only the CRI metrics show (CgroupStats.detail). */
  async stats(path: string, detailed = false): Promise<CgroupStats> {
    if (this.layout.version === 2) return readV2Stats(join(this.layout.unified!, path), detailed);
    const c = this.layout.controllers;
    return readV1Stats({
      ...(c.cpuacct ? { cpuacct: join(c.cpuacct, path) } : {}),
      ...(c.cpu ? { cpu: join(c.cpu, path) } : {}),
      ...(c.memory ? { memory: join(c.memory, path) } : {}),
      ...(c.pids ? { pids: join(c.pids, path) } : {}),
    }, detailed);
  }

  /**
   * Every process in `path` and its descendants (cgroup.procs), as cAdvisor
   * counts a container's processes; pids.current counts threads as well.
   */
  async procs(path: string): Promise<number[]> {
    const dir = this.primaryDir(path);
    if (dir === undefined) return [];
    const out: number[] = [];
    const walk = async (d: string, depth: number): Promise<void> => {
      let text: string;
      try {
        text = await readPseudoFile(join(d, 'cgroup.procs'));
      } catch {
        return;
      }
      for (const line of text.split('\n')) if (/^\d+$/.test(line)) out.push(Number(line));
      if (depth > 16) return;
      let entries;
      try {
        entries = await readdir(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name), depth + 1);
    };
    await walk(dir, 0);
    return out;
  }

}

/** A new v1 cpuset cgroup starts with empty cpus/mems, which refuses tasks; copy the parent's. */
async function inheritCpuset(dir: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    let own: string;
    try {
      own = (await readFile(join(dir, file), 'utf8')).trim();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      throw err;
    }
    if (own !== '') continue;
    const parent = (await readFile(join(dirname(dir), file), 'utf8')).trim();
    await writeFile(join(dir, file), parent);
  }
}

/**
 * On v2 a cgroup has a controller's files only if its parent delegates that
 * controller: delegate every one the parent has (as runc does for its own).
 * Best effort: a parent with processes of its own cannot delegate.
 */
async function enableControllers(parent: string): Promise<void> {
  let available: string[];
  try {
    available = (await readFile(join(parent, 'cgroup.controllers'), 'utf8')).trim().split(/\s+/).filter(Boolean);
  } catch {
    return;
  }
  if (available.length === 0) return;
  await writeFile(join(parent, 'cgroup.subtree_control'), available.map((c) => `+${c}`).join(' ')).catch(() => undefined);
}

async function rmdirPatiently(dir: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return true;
      if (isErrno(err, 'ENOTEMPTY')) return false;
      // EBUSY: tasks still attached, possibly exiting right now; children make it permanent.
      if (!isErrno(err, 'EBUSY')) throw err;
      if (attempt >= BUSY_RETRIES || (await hasChildren(dir))) return false;
      await new Promise((r) => setTimeout(r, BUSY_DELAY_MS));
    }
  }
}

async function hasChildren(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir, { withFileTypes: true })).some((e) => e.isDirectory());
  } catch {
    return false;
  }
}
