// Reading /proc/self/mountinfo: the one place that knows its field layout and
// its octal escapes, for the daemon, the tests and the benchmarks alike.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const MOUNTINFO = '/proc/self/mountinfo';

/** Decodes the octal escapes (\040 for a space, ...) mountinfo uses in paths. */
export function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount points (field 5) of mountinfo text, in table order. */
export function mountPointsIn(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''));
}

/** `dir` itself and every mount point below it (in the mount table as it is now, unless given one). */
export function mountsUnder(dir: string, mountPoints: readonly string[] = readMountPointsSync()): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountPoints.filter((m) => m === dir || m.startsWith(prefix));
}

/** Mount points of this process's mount namespace. */
export async function readMountPoints(): Promise<string[]> {
  return mountPointsIn(await readFile(MOUNTINFO, 'utf8'));
}

/** readMountPoints for synchronous callers (test teardown, benchmark cleanup). */
export function readMountPointsSync(): string[] {
  return mountPointsIn(readFileSync(MOUNTINFO, 'utf8'));
}
