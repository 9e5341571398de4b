// A container's root filesystem: an overlay of its image's layers (read-only,
// shared) and an upper directory of its own, mounted in its bundle.
import { chmod, chown, mkdir, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isErrno, KrillError } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';
import { run, runChecked } from '../spawn/run';
import { ensureDir, PRIVATE_DIR } from '../util/modes';
import { isMountPoint, mount, unmount } from './mount';
import { overlayOptions, shortLinkName } from './overlay';
import { UsageCache, type MeasuredUsage } from './usage_cache';

/** A user-namespaced pod's mapping: its pinned user namespace and the host IDs of its root. */
export interface IdMap {
  userns: string;
  rootUid: number;
  rootGid: number;
}

/** How old a writable layer's measured usage may get (kubelet polls stats every 10 s or so). */
const USAGE_MAX_AGE_MS = 10_000;
/** A new container's layer is small: its first stats call waits this long for its measurement. */
const USAGE_FIRST_WAIT_MS = 200;

export class RootfsManager {
  private readonly usageCache = new UsageCache({ dirOf: (id) => this.upperDir(id), maxAgeMs: USAGE_MAX_AGE_MS, firstWaitMs: USAGE_FIRST_WAIT_MS });

  /**
   * `layersDir` holds the l/ directory of short links (and, by the layer
   * store's layout, the layers themselves); `fsDir` holds every container's
   * upper and work directories, <fsDir>/<id>/{upper,work}.
   */
  constructor(
    private readonly launcher: Launcher,
    private readonly layersDir: string,
    private readonly fsDir: string,
    /** The krill-idmap helper, for containers of user-namespaced pods. */
    private readonly idmapHelper?: string,
  ) {}

  upperDir(id: string): string {
    return join(this.fsDir, id, 'upper');
  }

  private linksDir(): string {
    return join(this.layersDir, 'l');
  }

  private async ensureLink(lowerDir: string): Promise<void> {
    const link = join(this.linksDir(), shortLinkName(lowerDir));
    try {
      await symlink(lowerDir, link);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      if ((await readlink(link)) !== lowerDir) throw new Error(`short link ${link} points elsewhere than ${lowerDir}`);
    }
  }

  /**
   * Mounts the overlay at `target`. `lowerDirs` are the image's layer
   * directories, topmost first; an image without layers gets an empty one.
   * On failure nothing is left behind.
   */
  async create(id: string, lowerDirs: string[], target: string, idmap?: IdMap): Promise<void> {
    const base = join(this.fsDir, id);
    const upper = join(base, 'upper');
    const work = join(base, 'work');
    try {
      await mkdir(this.linksDir(), { recursive: true });
      // <fsDir>/<id> is private: a host user must never reach a file a container wrote (a setuid binary, say).
      await ensureDir(base, PRIVATE_DIR);
      await Promise.all([mkdir(upper), mkdir(work), mkdir(target, { recursive: true })]);
      // The upper directory is the container's "/": its mode is what the container sees.
      await chmod(upper, 0o755);
      let lowers = lowerDirs;
      if (lowers.length === 0) {
        lowers = [join(base, 'empty')];
        await mkdir(lowers[0]!, { recursive: true });
      }
      if (idmap) {
        // Each layer seen through the pod's ID mapping: its root-owned files belong to the pod's root.
        lowers = await this.idmappedLowers(base, lowers, idmap);
        await Promise.all([chown(upper, idmap.rootUid, idmap.rootGid), chown(work, idmap.rootUid, idmap.rootGid)]);
      }
      for (const d of lowers) await this.ensureLink(d);
      await mount(this.launcher, target, { type: 'overlay', source: 'overlay', options: overlayOptions({ lowerDirs: lowers, upperDir: upper, workDir: work }), cwd: this.layersDir });
    } catch (err) {
      await this.remove(id, target).catch(() => undefined);
      throw err;
    }
  }

  private async idmappedLowers(base: string, lowers: string[], idmap: IdMap): Promise<string[]> {
    if (!this.idmapHelper) throw new KrillError('Unimplemented', 'ID-mapped root filesystems need the krill-idmap helper');
    const out: string[] = [];
    for (const [i, lower] of lowers.entries()) {
      const view = join(base, 'lower', String(i));
      await mkdir(view, { recursive: true });
      await runChecked(this.launcher, this.idmapHelper, [idmap.userns, lower, view], { timeoutMs: 30_000 });
      out.push(view);
    }
    return out;
  }

  /**
   * A writable, ID-mapped view of `source` and the mounts below it, with the
   * pod's mapping: a user-namespaced pod's volume when the OCI runtime cannot
   * ID-map mounts itself. It sits in `volumes/` beside `target` (the root
   * filesystem's mount point, in the bundle, which the pod's root can reach),
   * and `remove(id, target)` unmounts it before anything is deleted.
   */
  async idmappedVolume(target: string, index: number, source: string, idmap: IdMap): Promise<string> {
    if (!this.idmapHelper) throw new KrillError('Unimplemented', 'ID-mapped volumes need the krill-idmap helper');
    const dir = join(dirname(target), 'volumes');
    await mkdir(dir, { recursive: true, mode: 0o711 });
    const view = join(dir, String(index));
    // The mount point is of the source's kind: a directory, or a file (/etc/hosts, a termination log).
    if ((await stat(source)).isDirectory()) await mkdir(view, { recursive: true });
    else await writeFile(view, '', { flag: 'a' });
    await runChecked(this.launcher, this.idmapHelper, ['--rw', '--recursive', idmap.userns, source, view], { timeoutMs: 30_000 });
    return view;
  }

  /** Unmounts ID-mapped volume views beside `target` (never deleting what they show). */
  private async unmountVolumes(target: string): Promise<void> {
    const dir = join(dirname(target), 'volumes');
    for (const v of await readdir(dir).catch(() => [] as string[])) {
      const view = join(dir, v);
      // Recursive: the view holds clones of the mounts below its source.
      for (let i = 0; i < 5 && (await isMountPoint(view)); i++) {
        const r = await run(this.launcher, 'umount', ['-R', view], { timeoutMs: 60_000 });
        if (r.code !== 0 && (await isMountPoint(view))) throw new KrillError('Internal', `umount -R ${view} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      }
      if (await isMountPoint(view)) throw new KrillError('Internal', `${view} is still mounted`);
    }
  }

  /** Unmounts `target` (if mounted), any ID-mapped volumes and layers, and deletes the container's layer. Idempotent. */
  async remove(id: string, target: string): Promise<void> {
    this.usageCache.forget(id);
    await this.unmountVolumes(target);
    await unmount(this.launcher, target);
    const base = join(this.fsDir, id);
    const views = await readdir(join(base, 'lower')).catch(() => [] as string[]);
    for (const v of views) {
      const view = join(base, 'lower', v);
      await unmount(this.launcher, view);
      await rm(join(this.linksDir(), shortLinkName(view)), { force: true });
    }
    await rm(base, { recursive: true, force: true });
  }

  /** The containers that have a writable layer directory here. */
  async ids(): Promise<string[]> {
    return (await readdir(this.fsDir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n));
  }

  /** Removes short links whose layer is gone. */
  async pruneLinks(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.linksDir());
    } catch {
      return;
    }
    for (const name of names) {
      const link = join(this.linksDir(), name);
      try {
        await stat(link);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) await rm(link, { force: true });
      }
    }
  }

  /**
   * Bytes (allocated blocks) and inodes used by the container's writable
   * layer, as last measured in the background (undefined before the first
   * measurement is done).
   */
  usage(id: string): Promise<MeasuredUsage | undefined> {
    return this.usageCache.get(id);
  }
}
