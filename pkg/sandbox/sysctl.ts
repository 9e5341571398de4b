// Which sysctls a pod may set: only those that live in a namespace the pod
// owns (so that setting one never changes the node). The list is the one
// runc and kubelet agree on.

export type SysctlNamespace = 'ipc' | 'net' | 'uts';

const IPC_EXACT: ReadonlySet<string> = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

// "net.ipv4.ip_forward", or kubelet's slash form "net/ipv4/conf/eth0.100/rp_filter"
// (slashes separate, dots stay part of a name).
const KEY_RE = /^[a-z][a-z0-9_]*([./][A-Za-z0-9_.:@-]+)+$/;

export interface SysctlSetting {
  /** The key as the pod wrote it. */
  key: string;
  /** The file under /proc/sys. */
  procPath: string;
  value: string;
  namespace: SysctlNamespace;
}

/** The namespace a sysctl lives in, or undefined when it is node-wide. */
export function sysctlNamespace(key: string): SysctlNamespace | undefined {
  const dotted = key.includes('/') ? key.replace(/\//g, '.') : key;
  if (IPC_EXACT.has(dotted) || dotted.startsWith('fs.mqueue.')) return 'ipc';
  if (dotted.startsWith('net.')) return 'net';
  if (dotted === 'kernel.domainname') return 'uts';
  return undefined;
}

export function sysctlProcPath(key: string): string {
  return key.includes('/') ? key : key.replace(/\./g, '/');
}

/**
 * Checks one sysctl against the pod's namespaces; returns why it is refused,
 * or the setting. `owned` says which namespaces the pod has of its own.
 */
export function checkSysctl(key: string, value: string, owned: Record<SysctlNamespace, boolean>): SysctlSetting | string {
  if (!KEY_RE.test(key) || key.split(/[./]/).some((p) => p === '..' || p === '')) return 'is not a sysctl name';
  if (/[\n\0]/.test(value) || value.length > 4096) return 'has an invalid value';
  const ns = sysctlNamespace(key);
  if (ns === undefined) return 'is not a namespaced sysctl (it would change the node)';
  if (!owned[ns]) return `needs the pod's own ${ns} namespace, but the pod uses the host's`;
  return { key, procPath: sysctlProcPath(key), value, namespace: ns };
}
