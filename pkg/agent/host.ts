// Facts about the host the agent reads itself (the pod sees the host's kernel).
import { access, readFile } from 'node:fs/promises';
import type { HostFacts } from './labels';

/** cgroup v2 when /sys/fs/cgroup is the unified hierarchy (it has cgroup.controllers); v1 (or hybrid) otherwise. */
export async function hostFacts(sysfsCgroup = '/sys/fs/cgroup', procStatus = '/proc/self/status'): Promise<HostFacts> {
  const v2 = await access(`${sysfsCgroup}/cgroup.controllers`).then(
    () => true,
    () => false,
  );
  const status = await readFile(procStatus, 'utf8').catch(() => '');
  return { cgroup: v2 ? 'v2' : 'v1', seccomp: hasSeccomp(status) };
}

/** The kernel has seccomp filtering when /proc/<pid>/status carries a Seccomp line (CONFIG_SECCOMP). */
export function hasSeccomp(procStatus: string): boolean {
  return /^Seccomp:\s*\d/m.test(procStatus);
}
