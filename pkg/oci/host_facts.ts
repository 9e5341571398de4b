// Pure helpers for the caller that gathers HostFacts and ResolvedFiles: they
// turn what it read (mountinfo text, stat results, directory names) into the
// shapes buildContainerSpec takes, so the parsing rules live here, tested.
import type { HostDevice } from './devices';
import type { HostPathInfo } from './mounts';
import { unescapeMountPath } from '../util/mountinfo';

/**
 * The propagation of the mount that holds `realPath` (symlinks already
 * resolved), from the text of /proc/self/mountinfo: the deepest mount point
 * containing the path, the last one mounted there when several are stacked.
 */
export function propagationFromMountinfo(mountinfo: string, realPath: string): HostPathInfo['propagation'] {
  let best: { depth: number; optional: string[] } | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 7 || dash < 6) continue;
    const mountPoint = unescapeMountPath(fields[4]!);
    const inside = mountPoint === '/' || realPath === mountPoint || realPath.startsWith(`${mountPoint}/`);
    if (!inside) continue;
    const depth = mountPoint === '/' ? 0 : mountPoint.split('/').length;
    if (!best || depth >= best.depth) best = { depth, optional: fields.slice(6, dash) };
  }
  if (!best) return 'private';
  if (best.optional.some((o) => o.startsWith('shared:'))) return 'shared';
  if (best.optional.some((o) => o.startsWith('master:'))) return 'slave';
  return 'private';
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function deviceNumbers(rdev: number | bigint): { major: number; minor: number } {
  const d = BigInt(rdev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** A HostDevice from stat(2) of `path` (following symlinks); undefined when it is no device node. */
export function hostDeviceFromStat(path: string, st: { mode: number; rdev: number | bigint; uid: number; gid: number }): HostDevice | undefined {
  const kind = st.mode & S_IFMT;
  const type = kind === S_IFCHR ? 'c' : kind === S_IFBLK ? 'b' : kind === S_IFIFO ? 'p' : undefined;
  if (!type) return undefined;
  const { major, minor } = type === 'p' ? { major: 0, minor: 0 } : deviceNumbers(st.rdev);
  return { path, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** "hugepages-2048kB" (a /sys/kernel/mm/hugepages entry) → "2MB", the name cgroups and kubelet use. */
export function hugepageSizeName(dirName: string): string | undefined {
  const m = /^hugepages-(\d+)kB$/.exec(dirName);
  if (!m) return undefined;
  let size = Number(m[1]) * 1024;
  let unit = 0;
  while (size >= 1024 && size % 1024 === 0 && unit < UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size}${UNITS[unit]}`;
}

/** Whether a kernel release (`uname -r`, "6.1.0-18-amd64") is at least major.minor ("5.12"). */
export function kernelAtLeast(release: string, want: string): boolean {
  const parse = (v: string): [number, number] => {
    const m = /^(\d+)(?:\.(\d+))?/.exec(v);
    return m ? [Number(m[1]), Number(m[2] ?? 0)] : [0, 0];
  };
  const [hm, hn] = parse(release);
  const [wm, wn] = parse(want);
  return hm > wm || (hm === wm && hn >= wn);
}
