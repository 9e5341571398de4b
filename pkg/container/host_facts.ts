// Facts about the node that the OCI spec builder needs, found once at start
// (devices only when a privileged container asks for them).
import { readdir, readFile, lstat, stat } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import type { Cgroups } from '../cgroups/cgroups';
import { capabilitiesFromMask, type HostDevice } from '../oci';
import { hostDeviceFromStat, hugepageSizeName, kernelAtLeast } from '../oci/host_facts';
import type { HostFacts } from '../oci/spec';
import { run } from '../util/exec';
import type { HandlerSpec } from '../runtime/types';

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

/** What a runtime binary says it supports (`runc features`); crun 1.8 has no such command. */
export interface HandlerFeatures {
  recursiveReadOnlyMounts: boolean;
  userNamespaces: boolean;
  idmappedMounts: boolean;
}

/** "crun version 1.8.1" → [1, 8]; undefined for anything else. */
export function crunVersion(versionOutput: string): [number, number] | undefined {
  const m = /^crun version (\d+)\.(\d+)/m.exec(versionOutput);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export async function probeHandler(h: HandlerSpec): Promise<HandlerFeatures> {
  const none = { recursiveReadOnlyMounts: false, userNamespaces: false, idmappedMounts: false };
  const r = await run(h.binary, ['features'], { timeoutMs: 10_000 }).catch(() => undefined);
  if (!r || r.code !== 0) {
    // crun before 1.9 has no `features`; 1.8 handles "rro" (checked on this project's test machines).
    const v = await run(h.binary, ['--version'], { timeoutMs: 10_000 }).catch(() => undefined);
    const crun = v && v.code === 0 ? crunVersion(v.stdout) : undefined;
    if (crun && (crun[0] > 1 || crun[1] >= 8)) return { ...none, recursiveReadOnlyMounts: kernelAtLeast(release(), '5.12'), userNamespaces: true };
    return none;
  }
  try {
    const f = JSON.parse(r.stdout) as { mountOptions?: string[]; linux?: { namespaces?: string[]; mountExtensions?: { idmap?: { enabled?: boolean } } } };
    return {
      recursiveReadOnlyMounts: (f.mountOptions ?? []).includes('rro') && kernelAtLeast(release(), '5.12'),
      userNamespaces: (f.linux?.namespaces ?? []).includes('user'),
      idmappedMounts: f.linux?.mountExtensions?.idmap?.enabled === true,
    };
  } catch {
    return none;
  }
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

const SKIP_DEV = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/fd', '/dev/.lxc', '/dev/.udev']);

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
