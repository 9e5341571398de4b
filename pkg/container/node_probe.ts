// Probing the node for the facts the OCI spec builder needs, once at start
// (devices only when a privileged container asks for them).
import { readdir, readFile, lstat, stat } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import type { Cgroups } from '../cgroups/cgroups';
import { capabilitiesFromMask, type HostDevice } from '../oci';
import { hostDeviceFromStat, hugepageSizeName } from '../oci/host_facts';
import type { HostFacts } from '../oci/spec';

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function statusField(name: string): Promise<string | undefined> {
  const text = await readFile('/proc/self/status', 'utf8');
  return new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1];
}

/** Facts shared by every handler; per-handler features are merged in by the caller. */
export async function probeHost(cgroups: Cgroups): Promise<Omit<HostFacts, 'recursiveReadOnlyMounts' | 'idmappedMounts'>> {
  const [capBnd, seccompField, appArmorEnabled, hugepages] = await Promise.all([
    statusField('CapBnd'),
    statusField('Seccomp'),
    readFile('/sys/module/apparmor/parameters/enabled', 'utf8').then((t) => t.trim() === 'Y', () => false),
    readdir('/sys/kernel/mm/hugepages').catch(() => [] as string[]),
  ]);
  const swapAccounting =
    cgroups.version === 2
      ? await readFile(join(cgroups.layout.unified ?? '/sys/fs/cgroup', 'cgroup.controllers'), 'utf8').then((t) => t.split(/\s+/).includes('memory'), () => false)
      : await exists(join(cgroups.layout.controllers.memory ?? '/sys/fs/cgroup/memory', 'memory.memsw.limit_in_bytes'));
  const hugetlb = cgroups.version === 2 || cgroups.layout.controllers.hugetlb !== undefined;
  return {
    arch: process.arch,
    kernelVersion: release(),
    cgroupVersion: cgroups.version,
    capabilities: capBnd ? capabilitiesFromMask(capBnd) : [],
    seccomp: seccompField !== undefined && (await exists('/proc/sys/kernel/seccomp/actions_avail')),
    appArmor: appArmorEnabled,
    swapAccounting,
    hugepageSizes: hugetlb ? hugepages.map(hugepageSizeName).filter((s): s is string => s !== undefined) : [],
    hostname: hostname(),
  };
}

const SKIP_DEV: ReadonlySet<string> = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/fd', '/dev/.lxc', '/dev/.udev']);

/** Every device node under `dir` (recursively), as privileged containers get them. */
export async function listDevices(dir = '/dev'): Promise<HostDevice[]> {
  const out: HostDevice[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (SKIP_DEV.has(p)) continue;
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      const dev = await deviceAt(p);
      if (dev) out.push(dev);
    }
  };
  await walk(dir);
  return out;
}

/** The device node at `path` (not following a final symlink), or undefined when it is none. */
export async function deviceAt(path: string): Promise<HostDevice | undefined> {
  try {
    return hostDeviceFromStat(path, await lstat(path, { bigint: false }));
  } catch {
    return undefined;
  }
}
