// A container's root filesystem: an overlay of its image's layers (read-only,
// shared) and an upper directory of its own, mounted in its bundle.
import { lstat, mkdir, readdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errors/errors';
import { mount, unmount } from './mount';
import { overlayOptions, shortLinkName } from './overlay';

export interface FsUsage {
  bytes: bigint;
  inodes: bigint;
}

export class RootfsManager {
  /**
   * `layersDir` holds the l/ directory of short links (and, by the layer
   * store's layout, the layers themselves); `fsDir` holds every container's
   * upper and work directories, <fsDir>/<id>/{upper,work}.
   */
  constructor(
    private readonly layersDir: string,
    private readonly fsDir: string,
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
  async create(id: string, lowerDirs: string[], target: string): Promise<void> {
    const base = join(this.fsDir, id);
    const upper = join(base, 'upper');
    const work = join(base, 'work');
    try {
      await mkdir(this.linksDir(), { recursive: true });
      await Promise.all([mkdir(upper, { recursive: true, mode: 0o755 }), mkdir(work, { recursive: true, mode: 0o700 }), mkdir(target, { recursive: true })]);
      let lowers = lowerDirs;
      if (lowers.length === 0) {
        lowers = [join(base, 'empty')];
        await mkdir(lowers[0]!, { recursive: true });
      }
      for (const d of lowers) await this.ensureLink(d);
      await mount(target, { type: 'overlay', source: 'overlay', options: overlayOptions({ lowerDirs: lowers, upperDir: upper, workDir: work }), cwd: this.layersDir });
    } catch (err) {
      await rm(base, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Unmounts `target` (if mounted) and deletes the container's layer. Idempotent. */
  async remove(id: string, target: string): Promise<void> {
    await unmount(target);
    await rm(join(this.fsDir, id), { recursive: true, force: true });
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

  /** Bytes (allocated blocks) and inodes used by the container's writable layer. */
  async usage(id: string): Promise<FsUsage> {
    const seen = new Set<bigint>();
    let bytes = 0n;
    let inodes = 0n;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        let st;
        try {
          st = await lstat(p, { bigint: true });
        } catch {
          continue;
        }
        if (!seen.has(st.ino)) {
          seen.add(st.ino);
          inodes++;
          bytes += st.blocks * 512n;
        }
        if (e.isDirectory()) await walk(p);
      }
    };
    await walk(this.upperDir(id));
    return { bytes, inodes };
  }
}
