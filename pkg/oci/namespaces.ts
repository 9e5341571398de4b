// The container's Linux namespaces: the pod's pinned network/ipc/uts (or the
// node's), pid per container, per pod, the node's or another container's,
// the pod's user namespace with its ID mappings, a private mount namespace,
// and a private cgroup namespace on cgroup v2.
import {
  NamespaceMode,
  type IDMapping,
  type LinuxContainerSecurityContext,
  type LinuxSandboxSecurityContext,
  type NamespaceOption,
  type UserNamespace,
} from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { IdMapping, Namespace } from './runtime_spec';

/** Paths of the pod's namespaces (bind mounts or /proc/<pid>/ns/*); absent when the pod has none of that kind. */
export interface PodNamespacePaths {
  network?: string;
  ipc?: string;
  uts?: string;
  user?: string;
  /** The pod's shared pid namespace, when it has one (pid mode POD). */
  pid?: string;
}

export interface NamespaceInput {
  securityContext: LinuxContainerSecurityContext | undefined;
  sandboxSecurityContext: LinuxSandboxSecurityContext | undefined;
  pod: PodNamespacePaths;
  /** The pid namespace of the container named by target_id (pid mode TARGET), found by the caller. */
  targetPidNamespace?: string;
  cgroupVersion: 1 | 2;
}

export interface NamespaceResult {
  namespaces: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  hostNetwork: boolean;
  hostIpc: boolean;
  hostUts: boolean;
  hostPid: boolean;
  userNamespace: boolean;
}

const MODE_NAMES: Record<number, string> = { 0: 'POD', 1: 'CONTAINER', 2: 'NODE', 3: 'TARGET' };
const modeName = (m: NamespaceMode): string => MODE_NAMES[m] ?? String(m);

const MAX_MAPPED = 2 ** 32;

/**
 * Checks a user namespace request as RunPodSandbox and CreateContainer must:
 * POD needs exactly one UID and one GID mapping, each mapping container ID 0;
 * NODE takes none; CONTAINER and TARGET are not valid for user namespaces.
 */
export function validateUserNamespace(userns: UserNamespace | undefined, field: string): void {
  if (!userns) return;
  if (userns.mode === NamespaceMode.NODE) {
    if (userns.uids.length > 0 || userns.gids.length > 0) throw invalidArgument(`${field}: mode NODE takes no uids or gids mappings`);
    return;
  }
  if (userns.mode !== NamespaceMode.POD) throw invalidArgument(`${field}.mode ${modeName(userns.mode)} is not supported (only POD or NODE)`);
  for (const [key, list] of [['uids', userns.uids], ['gids', userns.gids]] as const) {
    if (list.length !== 1) throw invalidArgument(`${field}.${key} must hold exactly one mapping, got ${list.length}`);
    const m = list[0]!;
    if (m.containerId !== 0) throw invalidArgument(`${field}.${key}[0] must map container ID 0, got ${m.containerId}`);
    if (m.length <= 0) throw invalidArgument(`${field}.${key}[0].length must be positive`);
    if (m.hostId + m.length > MAX_MAPPED) throw invalidArgument(`${field}.${key}[0] maps beyond the 32-bit ID range`);
  }
}

const toOci = (list: readonly IDMapping[]): IdMapping[] =>
  list.map((m) => ({ containerID: m.containerId, hostID: m.hostId, size: m.length }));

function sameUserns(a: UserNamespace | undefined, b: UserNamespace | undefined): boolean {
  const mode = (u: UserNamespace | undefined): NamespaceMode => u?.mode ?? NamespaceMode.NODE;
  if (mode(a) !== mode(b)) return false;
  const key = (l: readonly IDMapping[] | undefined): string => JSON.stringify((l ?? []).map((m) => [m.containerId, m.hostId, m.length]));
  return key(a?.uids) === key(b?.uids) && key(a?.gids) === key(b?.gids);
}

const NS = 'config.linux.security_context.namespace_options';

export function resolveNamespaces(input: NamespaceInput): NamespaceResult {
  const sandboxOpts = input.sandboxSecurityContext?.namespaceOptions;
  // A request without namespace options (crictl) takes the pod's.
  const opts: NamespaceOption = input.securityContext?.namespaceOptions ??
    sandboxOpts ?? { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD, targetId: '', usernsOptions: undefined };
  const namespaces: Namespace[] = [];
  const join = (type: Namespace['type'], path: string | undefined): void => {
    namespaces.push(path === undefined ? { type } : { type, path });
  };

  let hostNetwork = false;
  switch (opts.network) {
    case NamespaceMode.POD:
      if (!input.pod.network) throw invalidArgument(`${NS}.network is POD but the pod has no network namespace of its own`);
      join('network', input.pod.network);
      break;
    case NamespaceMode.NODE:
      hostNetwork = true;
      break;
    default:
      throw invalidArgument(`${NS}.network ${modeName(opts.network)} is not supported (POD or NODE)`);
  }

  let hostIpc = false;
  switch (opts.ipc) {
    case NamespaceMode.POD:
      if (!input.pod.ipc) throw invalidArgument(`${NS}.ipc is POD but the pod has no IPC namespace of its own`);
      join('ipc', input.pod.ipc);
      break;
    case NamespaceMode.CONTAINER:
      join('ipc', undefined);
      break;
    case NamespaceMode.NODE:
      hostIpc = true;
      break;
    default:
      throw invalidArgument(`${NS}.ipc ${modeName(opts.ipc)} is not supported (POD, CONTAINER or NODE)`);
  }

  // The UTS namespace follows the network one, as kubelet's hostNetwork means both.
  const hostUts = hostNetwork;
  if (!hostUts) join('uts', input.pod.uts);

  let hostPid = false;
  switch (opts.pid) {
    case NamespaceMode.CONTAINER:
      join('pid', undefined);
      break;
    case NamespaceMode.POD:
      if (!input.pod.pid) throw invalidArgument(`${NS}.pid is POD but the pod was not created with a shared PID namespace`);
      join('pid', input.pod.pid);
      break;
    case NamespaceMode.NODE:
      hostPid = true;
      break;
    case NamespaceMode.TARGET:
      if (opts.targetId === '') throw invalidArgument(`${NS}.target_id is required when pid is TARGET`);
      if (!input.targetPidNamespace) throw invalidArgument(`${NS}.target_id ${JSON.stringify(opts.targetId)}: the target container is not running`);
      join('pid', input.targetPidNamespace);
      break;
    default:
      throw invalidArgument(`${NS}.pid ${modeName(opts.pid)} is not supported`);
  }

  join('mount', undefined);

  const userns = opts.usernsOptions;
  validateUserNamespace(userns, `${NS}.userns_options`);
  if (sandboxOpts?.usernsOptions && input.securityContext?.namespaceOptions && !sameUserns(userns, sandboxOpts.usernsOptions)) {
    throw invalidArgument(`${NS}.userns_options differs from the pod's sandbox_config user namespace`);
  }
  const result: NamespaceResult = { namespaces, hostNetwork, hostIpc, hostUts, hostPid, userNamespace: false };
  if (userns?.mode === NamespaceMode.POD) {
    if (input.securityContext?.privileged) throw invalidArgument('config.linux.security_context.privileged is not allowed in a user namespace');
    join('user', input.pod.user);
    result.userNamespace = true;
    result.uidMappings = toOci(userns.uids);
    result.gidMappings = toOci(userns.gids);
  }

  // cgroup v1 hierarchies cannot be namespaced usefully; privileged
  // containers see the host's cgroups, as containerd and CRI-O do.
  if (input.cgroupVersion === 2 && !input.securityContext?.privileged) join('cgroup', undefined);
  return result;
}
