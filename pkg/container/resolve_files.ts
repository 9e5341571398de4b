// Reads from the node and the image what the OCI spec builder needs for one
// CreateContainer request (pkg/oci's specRequirements says what).
import { readFile, realpath, stat } from 'node:fs/promises';
import type { ContainerConfig } from '../../api/runtime/v1/api';
import { invalidArgument, isErrno } from '../errors/errors';
import type { HostDevice } from '../oci';
import { propagationFromMountinfo } from '../oci/host_facts';
import type { HostPathInfo } from '../oci/mounts';
import type { SpecRequirements } from '../oci/spec';
import { readFileInRoot } from '../storage/in_root';
import { readRegularFile, ReadRegularError } from '../util/read_regular';
import { loadedAppArmorProfiles } from './apparmor';
import { deviceAt, listDevices } from './node_probe';

/** A seccomp profile is JSON listing syscalls: tens of KiB at most in practice. */
export const MAX_SECCOMP_PROFILE_BYTES = 1 << 20;

export interface ResolvedForSpec {
  hostPaths: Record<string, HostPathInfo>;
  devices: Record<string, HostDevice[]>;
  seccompProfile?: string;
  appArmorProfiles?: Set<string>;
}

export async function resolveHostFiles(config: ContainerConfig, req: SpecRequirements): Promise<ResolvedForSpec> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const hostPaths: Record<string, HostPathInfo> = {};
  for (const p of req.hostPaths) {
    const i = config.mounts.findIndex((m) => m.hostPath === p);
    let real: string;
    try {
      real = await realpath(p);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw invalidArgument(`config.mounts[${i}].host_path ${JSON.stringify(p)} does not exist on the node`);
      throw err;
    }
    hostPaths[p] = { realPath: real, propagation: propagationFromMountinfo(mountinfo, real) };
  }
  const devices: Record<string, HostDevice[]> = {};
  for (const p of req.devicePaths) {
    const i = config.devices.findIndex((d) => d.hostPath === p);
    const field = `config.devices[${i}].host_path`;
    let st;
    try {
      st = await stat(p);
    } catch {
      throw invalidArgument(`${field} ${JSON.stringify(p)} does not exist on the node`);
    }
    if (st.isDirectory()) {
      devices[p] = await listDevices(p);
      continue;
    }
    const dev = await deviceAt(await realpath(p));
    if (!dev) throw invalidArgument(`${field} ${JSON.stringify(p)} is not a device`);
    devices[p] = [{ ...dev, path: p }];
  }
  const out: ResolvedForSpec = { hostPaths, devices };
  if (req.seccompProfile !== undefined) out.seccompProfile = await readSeccompProfile(req.seccompProfile);
  if (req.appArmorProfiles) out.appArmorProfiles = await loadedAppArmorProfiles();
  return out;
}

/** A Localhost profile: a regular file of at most MAX_SECCOMP_PROFILE_BYTES (a FIFO or /dev/zero would hang or fill memory). */
async function readSeccompProfile(path: string): Promise<string> {
  try {
    return await readRegularFile(path, MAX_SECCOMP_PROFILE_BYTES);
  } catch (err) {
    const detail = err instanceof ReadRegularError ? err.detail : 'cannot be read';
    throw invalidArgument(`config.linux.security_context.seccomp: the Localhost profile ${JSON.stringify(path)} ${detail}`);
  }
}

/** The image's user database, read from its root filesystem without leaving it. */
export async function readUserDb(rootfs: string): Promise<{ passwd?: string; group?: string }> {
  const [passwd, group] = await Promise.all([readFileInRoot(rootfs, '/etc/passwd'), readFileInRoot(rootfs, '/etc/group')]);
  return { passwd, group };
}
