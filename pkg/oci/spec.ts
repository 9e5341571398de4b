// The OCI runtime spec (config.json) of a container, from the CRI request,
// the image config and what the caller found out about the pod and the node.
// Pure: everything that needs the filesystem is read by the caller first
// (`specRequirements` says what) and passed in as data. Bad requests throw
// KrillError InvalidArgument naming the field.
import type { ContainerConfig, PodSandboxConfig } from '../../api/runtime/v1/api';
import { applyCdiEdits } from '../cdi/apply';
import type { CdiEdits } from '../cdi/edits';
import { requestedDevices } from '../cdi/request';
import { invalidArgument } from '../errors/errors';
import { DEFAULT_CAPABILITIES, resolveCapabilities } from './capabilities';
import { buildDevices, type HostDevice } from './devices';
import type { ImageConfig } from './image_config';
import { buildMounts, type HostPathInfo, type ImageVolumePolicy, type PodFiles } from './mounts';
import { resolveNamespaces, type PodNamespacePaths } from './namespaces';
import { processArgs, processCwd, processEnv } from './process';
import { buildResources } from './resources';
import { OCI_VERSION, type Process, type Rlimit, type Spec } from './runtime_spec';
import { resolveSeccomp, seccompChoice } from './seccomp';
import { namesAppArmorProfile, resolveAppArmor } from './security';
import { criStopSignal, imageStopSignal, type Signal } from './signal';
import { buildSysctls } from './sysctl';
import { resolveUser, type ResolvedUser } from './user';

export interface PodContext {
  /** The pod's pinned namespaces; a kind the pod does not have (host mode) is absent. */
  namespaces: PodNamespacePaths;
  /** The pod's hostname, hosts, resolv.conf and shm; absent ones are not mounted. */
  files: PodFiles;
  /** For pid mode TARGET: the target container's pid namespace (/proc/<pid>/ns/pid). */
  targetPidNamespace?: string;
}

/** What the caller read from the filesystem for this request (see specRequirements). */
export interface ResolvedFiles {
  /** The image's /etc/passwd and /etc/group contents; undefined when the image has none. */
  passwd?: string;
  group?: string;
  /** For each Mount.host_path of the request that exists. */
  hostPaths: Readonly<Record<string, HostPathInfo>>;
  /** For each Device.host_path of the request: the device, or the devices under a directory. */
  devices: Readonly<Record<string, readonly HostDevice[]>>;
  /** The Localhost seccomp profile's text, when the request names one and it exists. */
  seccompProfile?: string;
  /** Image mounts (Mount.image.image) → host directory with the image's contents. */
  imageMounts?: Readonly<Record<string, string>>;
  /** The AppArmor profiles loaded on the node, when the request names one. */
  appArmorProfiles?: ReadonlySet<string>;
  /** The container edits of the CDI devices the request names (pkg/cdi), applied last. */
  cdi?: CdiEdits;
}

/** Facts about the node, found once at start-up. */
export interface HostFacts {
  /** process.arch */
  arch: string;
  /** `uname -r` */
  kernelVersion?: string;
  cgroupVersion: 1 | 2;
  /** krilld's bounding capability set (capabilitiesFromMask of CapBnd in /proc/self/status). */
  capabilities: readonly string[];
  seccomp: boolean;
  appArmor: boolean;
  /** Kernel (mount_setattr, 5.12+) and runtime both support "rro". */
  recursiveReadOnlyMounts: boolean;
  /** The runtime supports ID-mapped mounts. */
  idmappedMounts: boolean;
  /** memory.memsw.* (v1) or memory.swap.max (v2) exists. */
  swapAccounting: boolean;
  /** Sizes the hugetlb controller offers ("2MB", "1GB"); empty without the controller. */
  hugepageSizes: readonly string[];
  /** Every device node under /dev: needed only for privileged containers. */
  devices?: readonly HostDevice[];
  /** The node's hostname, for HOSTNAME when the pod gives none. */
  hostname?: string;
}

export interface SpecOptions {
  /** The runtime handler's name, recorded in an annotation. */
  runtimeHandler: string;
  /** krilld's own oom_score_adj; containers are clamped to it. */
  oomScoreAdjFloor: number;
  /** Default DEFAULT_CAPABILITIES. */
  defaultCapabilities?: readonly string[];
  /** Resource limits for the process; default none (inherited from conmon). */
  rlimits?: readonly Rlimit[];
  /** The AppArmor profile for RuntimeDefault, already loaded; default none. */
  appArmorDefaultProfile?: string;
  /** Why it could not be loaded (on a node with AppArmor): RuntimeDefault containers are then refused. */
  appArmorDefaultProfileError?: string;
  /**
   * The seccomp profile when the request names none; default Unconfined, as
   * the CRI defines it (kubelet always names one: RuntimeDefault with its
   * SeccompDefault setting, else Unconfined).
   */
  seccompDefault?: 'RuntimeDefault' | 'Unconfined';
  /** Default { mode: 'mkdir' }. */
  imageVolumes?: ImageVolumePolicy;
  /** pids.max for each container; default none. */
  pidsLimit?: number;
}

export interface ContainerSpecInput {
  containerId: string;
  sandboxId: string;
  config: ContainerConfig;
  sandboxConfig: PodSandboxConfig;
  /** The image config's `config` object. */
  image: ImageConfig;
  /** The image's name for the annotations (e.g. docker.io/library/busybox:1.36). */
  imageName?: string;
  /** Absolute path of the mounted root filesystem. */
  rootfs: string;
  /** linux.cgroupsPath, in the runtime's syntax for the cgroup driver (pkg/cgroups makes it). */
  cgroupsPath: string;
  pod: PodContext;
  resolved: ResolvedFiles;
  host: HostFacts;
  options: SpecOptions;
}

export interface ContainerSpecResult {
  spec: Spec;
  /** The process identity: ContainerStatus.user. */
  user: ResolvedUser;
  /** The image's STOPSIGNAL (SIGTERM by default), for StopContainer. */
  stopSignal: Signal;
  /** Directories to create (safely) inside the root filesystem: the working directory, image VOLUMEs. */
  rootfsDirs: string[];
  /** Host directories to create: image VOLUMEs bound from the host. */
  hostDirs: string[];
}

/** What the caller must read from the filesystem before buildContainerSpec. */
export interface SpecRequirements {
  /** Mount.host_path values to resolve (realpath) and whose mount propagation to find. */
  hostPaths: string[];
  /** Device.host_path values to stat (and walk, for a directory). */
  devicePaths: string[];
  /** Image references of image mounts. */
  imageMounts: string[];
  /** A Localhost seccomp profile file to read. */
  seccompProfile?: string;
  /** The request names an AppArmor profile: ResolvedFiles.appArmorProfiles is needed. */
  appArmorProfiles?: boolean;
  /** The container is privileged: HostFacts.devices is needed. */
  hostDevices: boolean;
  /** The request names CDI devices (CDI_devices or cdi.k8s.io/ annotations): ResolvedFiles.cdi is needed. */
  cdiDevices: boolean;
}

/** The CRI: "Default: "", which is identical with unconfined." */
export const SECCOMP_DEFAULT = 'Unconfined';

export function specRequirements(config: ContainerConfig, options: Pick<SpecOptions, 'seccompDefault'> = {}): SpecRequirements {
  const sc = config.linux?.securityContext;
  const req: SpecRequirements = {
    hostPaths: config.mounts.filter((m) => !m.image?.image && m.hostPath !== '').map((m) => m.hostPath),
    devicePaths: config.devices.map((d) => d.hostPath),
    imageMounts: config.mounts.filter((m) => m.image?.image).map((m) => m.image!.image),
    hostDevices: sc?.privileged ?? false,
    cdiDevices: requestedDevices(config).length > 0,
  };
  if (!sc?.privileged) {
    const choice = seccompChoice(sc, options.seccompDefault ?? SECCOMP_DEFAULT);
    if (choice.type === 'Localhost') req.seccompProfile = choice.ref;
  }
  if (namesAppArmorProfile(sc)) req.appArmorProfiles = true;
  return req;
}

export function buildContainerSpec(input: ContainerSpecInput): ContainerSpecResult {
  const { config, sandboxConfig, host, options } = input;
  const sc = config.linux?.securityContext;
  const sandboxSc = sandboxConfig.linux?.securityContext;
  const privileged = sc?.privileged ?? false;
  if (!input.resolved.cdi && requestedDevices(config).length > 0) throw new Error('oci: CDI devices must be resolved first (ResolvedFiles.cdi)');
  if (privileged && !sandboxSc?.privileged) {
    throw invalidArgument('config.linux.security_context.privileged needs a privileged pod (sandbox_config.linux.security_context.privileged)');
  }

  const namespaces = resolveNamespaces({
    securityContext: sc,
    sandboxSecurityContext: sandboxSc,
    pod: input.pod.namespaces,
    targetPidNamespace: input.pod.targetPidNamespace,
    cgroupVersion: host.cgroupVersion,
  });
  const user = resolveUser({ securityContext: sc, imageUser: input.image.User ?? '', passwd: input.resolved.passwd, group: input.resolved.group });
  const capabilities = resolveCapabilities({
    securityContext: sc,
    hostCapabilities: host.capabilities,
    defaults: options.defaultCapabilities ?? DEFAULT_CAPABILITIES,
  });
  const seccomp = resolveSeccomp({
    securityContext: sc,
    fallback: options.seccompDefault ?? SECCOMP_DEFAULT,
    hostSeccomp: host.seccomp,
    target: { arch: host.arch, capabilities: capabilities.bounding, kernelVersion: host.kernelVersion },
    localhostProfile: input.resolved.seccompProfile,
  });
  const apparmor = resolveAppArmor({
    securityContext: sc,
    hostAppArmor: host.appArmor,
    defaultProfile: options.appArmorDefaultProfile,
    ...(options.appArmorDefaultProfileError !== undefined ? { defaultProfileError: options.appArmorDefaultProfileError } : {}),
    ...(input.resolved.appArmorProfiles ? { loadedProfiles: input.resolved.appArmorProfiles } : {}),
  });
  const mounts = buildMounts({
    config,
    image: input.image,
    podFiles: input.pod.files,
    hostPaths: input.resolved.hostPaths,
    imageMounts: input.resolved.imageMounts ?? {},
    namespaces,
    recursiveReadOnlyMounts: host.recursiveReadOnlyMounts,
    idmappedMounts: host.idmappedMounts,
    imageVolumes: options.imageVolumes ?? { mode: 'mkdir' },
  });
  const devices = buildDevices({
    devices: config.devices,
    resolved: input.resolved.devices,
    privileged,
    hostDevices: host.devices,
    userNamespace: namespaces.userNamespace,
  });
  const resources = buildResources({
    resources: config.linux?.resources,
    field: 'config.linux.resources',
    cgroupVersion: host.cgroupVersion,
    swapAccounting: host.swapAccounting,
    hugepageSizes: host.hugepageSizes,
    pidsLimit: options.pidsLimit,
    oomScoreAdjFloor: options.oomScoreAdjFloor,
  });
  const sysctl = buildSysctls(sandboxConfig.linux?.sysctls ?? {}, namespaces);
  const stopSignal = criStopSignal(config.stopSignal) ?? imageStopSignal(input.image.StopSignal);

  const cwd = processCwd(config.workingDir, input.image);
  const proc: Process = {
    terminal: config.tty,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    args: processArgs(config.command, config.args, input.image),
    env: processEnv({ image: input.image, envs: config.envs, hostname: sandboxConfig.hostname || (host.hostname ?? ''), tty: config.tty }),
    cwd,
    capabilities,
    noNewPrivileges: sc?.noNewPrivs ?? false,
    oomScoreAdj: resources.oomScoreAdj,
  };
  if (options.rlimits && options.rlimits.length > 0) proc.rlimits = options.rlimits.map((r) => ({ ...r }));
  if (apparmor !== undefined) proc.apparmorProfile = apparmor;

  const { oomScoreAdj: _oom, ...cgroupResources } = resources;
  const built: Spec = {
    ociVersion: OCI_VERSION,
    process: proc,
    root: { path: input.rootfs, readonly: sc?.readonlyRootfs ?? false },
    mounts: [...mounts.mounts, ...devices.mounts],
    annotations: annotations(input),
    linux: {
      namespaces: namespaces.namespaces,
      resources: { devices: devices.rules, ...cgroupResources },
      cgroupsPath: input.cgroupsPath,
      maskedPaths: mounts.maskedPaths,
      readonlyPaths: mounts.readonlyPaths,
    },
  };
  if (!namespaces.hostUts && sandboxConfig.hostname !== '') built.hostname = sandboxConfig.hostname;
  if (namespaces.uidMappings) built.linux.uidMappings = namespaces.uidMappings;
  if (namespaces.gidMappings) built.linux.gidMappings = namespaces.gidMappings;
  if (devices.devices.length > 0) built.linux.devices = devices.devices;
  if (mounts.rootfsPropagation) built.linux.rootfsPropagation = mounts.rootfsPropagation;
  if (seccomp) built.linux.seccomp = seccomp;
  if (sysctl) built.linux.sysctl = sysctl;
  const cdi = input.resolved.cdi;
  const spec = cdi ? applyCdiEdits(built, cdi, { userNamespace: namespaces.userNamespace }) : built;

  return {
    spec,
    user: { ...user, additionalGids: spec.process.user.additionalGids ?? [] },
    stopSignal,
    rootfsDirs: [...(cwd === '/' ? [] : [cwd]), ...mounts.rootfsDirs],
    hostDirs: mounts.hostDirs,
  };
}

/** The io.kubernetes.cri.* annotations containerd sets, which tools such as NRI plugins read. */
function annotations(input: ContainerSpecInput): Record<string, string> {
  const meta = input.sandboxConfig.metadata;
  const out: Record<string, string> = {
    'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.container-name': input.config.metadata?.name ?? '',
    'io.kubernetes.cri.sandbox-id': input.sandboxId,
    'io.kubernetes.cri.sandbox-name': meta?.name ?? '',
    'io.kubernetes.cri.sandbox-namespace': meta?.namespace ?? '',
    'io.kubernetes.cri.sandbox-uid': meta?.uid ?? '',
    'io.krill.runtime-handler': input.options.runtimeHandler,
  };
  if (input.imageName) out['io.kubernetes.cri.image-name'] = input.imageName;
  return out;
}
