// Cgroup names as each driver spells them. kubelet passes a pod's cgroup
// parent in its driver's syntax: a path ("/kubepods/burstable/pod<uid>") for
// cgroupfs, a slice name ("kubepods-burstable-pod<uid>.slice") for systemd.
// Everything here is pure; paths are relative to a hierarchy's root and
// start with "/".
import { posix } from 'node:path';

export type CgroupDriverName = 'cgroupfs' | 'systemd';

/** Thrown for a cgroup parent the driver cannot accept; the message says why. */
export class CgroupPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CgroupPathError';
  }
}

const SLICE_RE = /^[A-Za-z0-9_.\\:-]+\.slice$/;

/**
 * Expands a systemd slice name to its path: "a-b-c.slice" lives in
 * /a.slice/a-b.slice/a-b-c.slice, and "-.slice" is the root.
 */
export function expandSlice(slice: string): string {
  const name = slice.startsWith('/') ? slice.slice(1) : slice;
  if (name === '-.slice') return '/';
  if (!SLICE_RE.test(name) || name.includes('/')) throw new CgroupPathError(`invalid systemd slice name ${JSON.stringify(slice)}`);
  const stem = name.slice(0, -'.slice'.length);
  if (stem === '' || stem.startsWith('-') || stem.endsWith('-') || stem.includes('--')) {
    throw new CgroupPathError(`invalid systemd slice name ${JSON.stringify(slice)}`);
  }
  let path = '';
  let prefix = '';
  for (const part of stem.split('-')) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** A cgroupfs parent made absolute and normalized; ".." and empty parts are refused. */
export function normalizeCgroupfsPath(parent: string): string {
  const parts = parent.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new CgroupPathError(`cgroup parent ${JSON.stringify(parent)} must not contain ".."`);
  if (parts.some((p) => /[\0\n]/.test(p))) throw new CgroupPathError(`cgroup parent ${JSON.stringify(parent)} has invalid characters`);
  return posix.join('/', ...parts);
}

/** The cgroup a pod's processes live under: the parent kubelet names, as a path. */
export function podCgroupPath(driver: CgroupDriverName, parent: string): string {
  return driver === 'systemd' ? expandSlice(parent) : normalizeCgroupfsPath(parent);
}

export interface ContainerCgroup {
  /** The value for the OCI spec's linux.cgroupsPath (runc and crun read it per driver). */
  ociPath: string;
  /** Where the container's cgroup ends up, relative to a hierarchy root. */
  path: string;
}

/** A container's cgroup below its pod's parent: "<parent>/krill-<id>" or the systemd scope "krill-<id>.scope". */
export function containerCgroup(driver: CgroupDriverName, parent: string, id: string): ContainerCgroup {
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new CgroupPathError(`invalid container id ${JSON.stringify(id)}`);
  if (driver === 'systemd') {
    const slice = parent === '' ? 'system.slice' : parent.replace(/^\//, '');
    return { ociPath: `${slice}:krill:${id}`, path: posix.join(expandSlice(slice), `krill-${id}.scope`) };
  }
  const base = normalizeCgroupfsPath(parent);
  const path = posix.join(base, `krill-${id}`);
  return { ociPath: path, path };
}

/** "/a/b/c" → ["/a", "/a/b", "/a/b/c"]; the root has no ancestors. */
export function ancestorsAndSelf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_p, i) => `/${parts.slice(0, i + 1).join('/')}`);
}
