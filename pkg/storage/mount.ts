// Mounting and unmounting with util-linux, and reading the mount table.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { KrillError } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';
import { run } from '../spawn/run';
import { mountPointsIn, pointsUnder } from '../util/mountinfo';

const MOUNTINFO = '/proc/self/mountinfo';

/** Mount points of this process's mount namespace. */
export async function readMountPoints(): Promise<string[]> {
  return mountPointsIn(await readFile(MOUNTINFO, 'utf8'));
}

/** readMountPoints for synchronous callers (test teardown, benchmark cleanup). */
export function readMountPointsSync(): string[] {
  return mountPointsIn(readFileSync(MOUNTINFO, 'utf8'));
}

/** `dir` and every mount point below it, as mounted now. */
export function mountsUnder(dir: string): string[] {
  return pointsUnder(readMountPointsSync(), dir);
}

export interface MountOptions {
  type: string;
  source: string;
  options: string[];
  /** Working directory of `mount`: relative paths in options resolve against it. */
  cwd?: string;
}

export async function mount(launcher: Launcher, target: string, opts: MountOptions): Promise<void> {
  const args = ['-t', opts.type, opts.source, target];
  if (opts.options.length) args.splice(2, 0, '-o', opts.options.join(','));
  const r = await run(launcher, 'mount', args, { cwd: opts.cwd, timeoutMs: 60_000 });
  if (r.code !== 0) throw new KrillError('Internal', `mount ${opts.type} on ${target} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** Unmounts `target`; a target that is not mounted is fine. */
export async function unmount(launcher: Launcher, target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  const r = await run(launcher, 'umount', [target], { timeoutMs: 60_000 });
  if (r.code !== 0 && (await isMountPoint(target))) {
    throw new KrillError('Internal', `umount ${target} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMountPoints()).includes(path);
}
