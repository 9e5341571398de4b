// The OCI runtime spec of a pod's infra process: a static pause binary
// (catatonit -P) bind-mounted read-only into an otherwise empty root, pid 1
// of the pod's new pid namespace, in the pod's pinned namespaces, with no
// capabilities. Pure: no I/O.
import type { Sandbox } from './types';

export const INFRA_BINARY_IN_ROOT = '/catatonit';

export interface InfraSpecInput {
  sandbox: Sandbox;
  /** The pause binary on the node. */
  binary: string;
  /** linux.cgroupsPath in the handler's driver syntax. */
  cgroupsPath: string;
}

interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

const toOciMap = (m: { containerId: number; hostId: number; length: number }): IdMap => ({ containerID: m.containerId, hostID: m.hostId, size: m.length });

export function infraSpec(input: InfraSpecInput): Record<string, unknown> {
  const { meta } = input.sandbox;
  const sc = meta.config.linux?.securityContext;
  const uid = Number(sc?.runAsUser?.value ?? 0n);
  const gid = Number(sc?.runAsGroup?.value ?? 0n);
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'mount' }];
  if (meta.namespaces.network) namespaces.push({ type: 'network', path: meta.namespaces.network });
  if (meta.namespaces.ipc) namespaces.push({ type: 'ipc', path: meta.namespaces.ipc });
  if (meta.namespaces.uts) namespaces.push({ type: 'uts', path: meta.namespaces.uts });
  if (meta.namespaces.user) namespaces.push({ type: 'user', path: meta.namespaces.user });
  const none: string[] = [];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid, gid },
      args: [INFRA_BINARY_IN_ROOT, '-P'],
      env: ['PATH=/'],
      cwd: '/',
      noNewPrivileges: true,
      capabilities: { bounding: none, effective: none, inheritable: none, permitted: none, ambient: none },
      oomScoreAdj: meta.oomScoreAdj,
    },
    root: { path: 'rootfs', readonly: true },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: INFRA_BINARY_IN_ROOT, type: 'bind', source: input.binary, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
    ],
    linux: {
      namespaces,
      ...(meta.userns ? { uidMappings: meta.userns.uids.map(toOciMap), gidMappings: meta.userns.gids.map(toOciMap) } : {}),
      cgroupsPath: input.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
      readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
