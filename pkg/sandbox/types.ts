// A pod sandbox as Krill keeps it: metadata written once at creation, and a
// status that changes (state, IPs, infra process). This is also what the
// container manager reads (SandboxManager.get) to put a container in its pod.
import type { IDMapping, PodSandboxConfig } from '../../api/runtime/v1/api';
import type { CniBandwidth } from '../network/bandwidth';
import type { CniPortMapping } from '../network/manager';
import type { DnsSettings } from './files';
import type { SysctlSetting } from './sysctl';

export type SandboxState = 'creating' | 'ready' | 'notready';

/** How each namespace of the pod is provided: its own ("pod"), or the node's. */
export interface NamespaceModes {
  network: 'pod' | 'node';
  ipc: 'pod' | 'node';
  /** Follows network: a host-network pod has the node's hostname. */
  uts: 'pod' | 'node';
  /** "pod": one pid namespace for the pod, held by an infra process; "container": one per container. */
  pid: 'pod' | 'container' | 'node';
  user: 'pod' | 'node';
}

export interface UserNamespaceMappings {
  uids: IDMapping[];
  gids: IDMapping[];
}

/** The host group of a user-namespaced pod's root: the directories its runtime must pass get it. */
export function remappedRootGid(userns: UserNamespaceMappings | undefined): number | undefined {
  return userns?.gids.find((m) => m.containerId === 0)?.hostId;
}

/** What a valid RunPodSandbox request asks for, in Krill's terms. */
export interface PodSpec {
  config: PodSandboxConfig;
  /** name, namespace, uid and attempt: unique among a node's pods. */
  key: string;
  /** As the request named it ('' = the default). */
  runtimeHandler: string;
  /** The configured handler it resolves to. */
  handler: string;
  hostname: string;
  modes: NamespaceModes;
  userns?: UserNamespaceMappings;
  sysctls: SysctlSetting[];
  portMappings: CniPortMapping[];
  bandwidth?: CniBandwidth;
  /** undefined: the node's resolv.conf. */
  dns?: DnsSettings;
  /** kubelet's cgroup parent; '' when it sent none (Krill then picks one per pod). */
  cgroupParent: string;
}

export interface SandboxPaths {
  /** <root>/pods/<id>: hostname, hosts, resolv.conf. */
  dir: string;
  /** <state>/pods/<id>: the pod's shm mount point. */
  runDir: string;
  hostname: string;
  hosts: string;
  resolvConf: string;
  /** The pod's tmpfs for /dev/shm, or the node's /dev/shm for a host-IPC pod. */
  shm: string;
  /** <state>/ns/<id>: the pinned namespace files. */
  nsDir: string;
}

/** Paths of the pod's own namespaces; undefined where the pod uses the node's. */
export interface SandboxNamespaces {
  network?: string;
  ipc?: string;
  uts?: string;
  user?: string;
}

export interface SandboxMeta {
  config: PodSandboxConfig;
  key: string;
  runtimeHandler: string;
  handler: string;
  /** ns since the epoch. */
  createdAt: bigint;
  hostname: string;
  modes: NamespaceModes;
  userns?: UserNamespaceMappings;
  namespaces: SandboxNamespaces;
  paths: SandboxPaths;
  /** The pod cgroup in the driver's syntax: containers go below it. */
  cgroupParent: string;
  /** The same cgroup as a path relative to each hierarchy root (for stats). */
  cgroupPath: string;
  /** What the pod's infra process (if any) runs with: never below krilld's own. */
  oomScoreAdj: number;
}

export interface InfraProcess {
  /** The OCI container ID of the infra process. */
  id: string;
  pid: number;
  /** Its start time (clock ticks since boot, /proc/<pid>/stat): tells it from a later process with the same pid. */
  startTime?: number;
}

export interface SandboxStatus {
  state: SandboxState;
  /** The pod's IPs while its network is set up; IPv4 first. */
  ips: string[];
  /** The CNI network the pod joined. */
  network?: { name: string; source: string };
  /** Set when the pod shares one pid namespace. */
  infra?: InfraProcess;
  /** Why the pod is not ready, when Krill found it so (not for a plain stop). */
  reason?: string;
  stoppedAt?: bigint;
}

export interface Sandbox {
  id: string;
  meta: SandboxMeta;
  status: SandboxStatus;
}
