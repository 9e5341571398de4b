// The few mount operations a pod needs (unmounting, a private bind mount
// for the namespace directory), through util-linux.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Launcher } from '../spawn/launcher';
import { runChecked } from '../spawn/run';
import { readMountPoints } from '../storage/mount';

const MOUNT_TIMEOUT_MS = 30_000;

/**
 * Whether something other than `path`'s parent filesystem is mounted there.
 * Cheap (two stats); true for nsfs and tmpfs mounts, false for a bind mount
 * of the same filesystem (use readMountPoints() for those).
 */
export async function isForeignMount(path: string): Promise<boolean> {
  // Synchronous: two stats of local paths (nsfs, tmpfs under krilld's state dir) cost less than
  // a round trip through the thread pool each, and PodSandboxStatus makes them for every pod.
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch {
    return false;
  }
}

/** Unmounts every path given that is mounted; the others are skipped. */
export async function unmountAll(launcher: Launcher, targets: readonly string[]): Promise<void> {
  const mounted = new Set(await readMountPoints());
  const todo = targets.filter((t) => mounted.has(t));
  if (todo.length === 0) return;
  await runChecked(launcher, 'umount', todo, { timeoutMs: MOUNT_TIMEOUT_MS });
}

/** Makes `dir` a private mount of its own (once), so that mounts below it do not propagate. */
export async function ensurePrivateMount(launcher: Launcher, dir: string): Promise<void> {
  if (!(await readMountPoints()).includes(dir)) await runChecked(launcher, 'mount', ['--bind', dir, dir], { timeoutMs: MOUNT_TIMEOUT_MS });
  await runChecked(launcher, 'mount', ['--make-private', dir], { timeoutMs: MOUNT_TIMEOUT_MS });
}
