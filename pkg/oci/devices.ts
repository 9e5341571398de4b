// Device nodes and the device cgroup: deny everything but the devices every
// container needs, then allow the requested ones with their permissions; a
// privileged container gets every host device and no restriction.
import type { Device as CriDevice } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import { cleanPath } from './path';
import type { Device, DeviceCgroupRule, Mount } from './runtime_spec';

/** A device node on the node, as the caller found it with stat(2). */
export interface HostDevice {
  /**
   * Its path: the requested host_path itself, or for a requested directory a
   * path under it (whose container path keeps the same relative part).
   */
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  /** Permission bits (st_mode & 0o7777). */
  fileMode: number;
  uid: number;
  gid: number;
}

const rwm = 'rwm';

/**
 * runc's and crun's own defaults: mknod of anything, and the character
 * devices every process expects (null, zero, full, random, urandom, tty,
 * console, ptmx, the pts).
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceCgroupRule[] = [
  { allow: false, access: rwm },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: rwm },
  { allow: true, type: 'c', major: 1, minor: 5, access: rwm },
  { allow: true, type: 'c', major: 1, minor: 7, access: rwm },
  { allow: true, type: 'c', major: 1, minor: 8, access: rwm },
  { allow: true, type: 'c', major: 1, minor: 9, access: rwm },
  { allow: true, type: 'c', major: 5, minor: 0, access: rwm },
  { allow: true, type: 'c', major: 5, minor: 1, access: rwm },
  { allow: true, type: 'c', major: 5, minor: 2, access: rwm },
  { allow: true, type: 'c', major: 136, access: rwm },
];

export interface DeviceInput {
  devices: readonly CriDevice[];
  /** Keyed by Device.host_path as the request wrote it: the device, or every device under a directory. */
  resolved: Readonly<Record<string, readonly HostDevice[]>>;
  privileged: boolean;
  /** Every device of the node (privileged containers only). */
  hostDevices: readonly HostDevice[] | undefined;
  /** In a user namespace device nodes cannot be made: they are bind-mounted from the host instead. */
  userNamespace: boolean;
}

export interface DeviceResult {
  devices: Device[];
  rules: DeviceCgroupRule[];
  /** Bind mounts of the host's device nodes (user namespaces only). */
  mounts: Mount[];
}

function permissions(text: string, field: string): string {
  if (text === '') return rwm;
  if (!/^[rwm]{1,3}$/.test(text) || new Set(text).size !== text.length) {
    throw invalidArgument(`${field} ${JSON.stringify(text)} is not a combination of r, w and m`);
  }
  return text;
}

const ociDevice = (d: HostDevice, path: string): Device => ({
  path,
  type: d.type,
  major: d.major,
  minor: d.minor,
  fileMode: d.fileMode,
  uid: d.uid,
  gid: d.gid,
});

export function buildDevices(input: DeviceInput): DeviceResult {
  const devices: Device[] = [];
  const rules: DeviceCgroupRule[] = [];
  const mounts: Mount[] = [];
  input.devices.forEach((req, i) => {
    const field = `config.devices[${i}]`;
    if (!req.hostPath.startsWith('/')) throw invalidArgument(`${field}.host_path ${JSON.stringify(req.hostPath)} is not an absolute path`);
    const containerPath = req.containerPath === '' ? req.hostPath : req.containerPath;
    if (!containerPath.startsWith('/')) throw invalidArgument(`${field}.container_path ${JSON.stringify(containerPath)} is not an absolute path`);
    const access = permissions(req.permissions, `${field}.permissions`);
    const found = input.resolved[req.hostPath] ?? [];
    if (found.length === 0) throw invalidArgument(`${field}.host_path ${JSON.stringify(req.hostPath)} is not a device on this node`);
    const base = cleanPath(req.hostPath);
    for (const d of found) {
      const rel = cleanPath(d.path) === base ? '' : cleanPath(d.path).slice(base.length);
      const path = cleanPath(containerPath + rel);
      // runc binds a device into a user namespace from the host path equal
      // to its container path, so a renamed one is bound here instead.
      if (input.userNamespace) mounts.push({ destination: path, type: 'bind', source: cleanPath(d.path), options: ['bind', 'rprivate', 'nosuid', 'noexec'] });
      else devices.push(ociDevice(d, path));
      if (d.type !== 'p') rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
    }
  });

  if (input.privileged) {
    if (!input.hostDevices) throw new Error('oci: a privileged container needs the host device list');
    const taken = new Set(devices.map((d) => d.path));
    const all = input.hostDevices.filter((d) => !taken.has(cleanPath(d.path))).map((d) => ociDevice(d, cleanPath(d.path)));
    return { devices: [...all, ...devices], rules: [{ allow: true, access: rwm }], mounts };
  }
  return { devices, rules: [...DEFAULT_DEVICE_RULES.map((r) => ({ ...r })), ...rules], mounts };
}
