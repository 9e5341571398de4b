// The container's mounts: the default /proc, /dev, /sys and cgroup
// filesystems, the pod's /etc/hostname, /etc/hosts, /etc/resolv.conf and
// /dev/shm, kubelet's bind mounts (read-only, recursive read-only,
// propagation) and the image's VOLUMEs; plus the masked and read-only paths.
import { MountPropagation, type ContainerConfig, type Mount as CriMount } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { ImageConfig } from './image_config';
import type { NamespaceResult } from './namespaces';
import { cleanPath, pathDepth } from './path';
import type { IdMapping, Mount } from './runtime_spec';

/** What the caller found out about a Mount.host_path on the node. */
export interface HostPathInfo {
  /** The path with every symlink resolved: what gets bind-mounted. */
  realPath: string;
  /** Propagation of the host mount holding realPath (mountinfo "shared:N" → shared, only "master:N" → slave). */
  propagation: 'shared' | 'slave' | 'private';
}

/** Files the pod keeps for all its containers; absent ones are not mounted. */
export interface PodFiles {
  hostname?: string;
  hosts?: string;
  resolvConf?: string;
  /** The pod's /dev/shm (a tmpfs on the node); the node's /dev/shm is used in host IPC mode. */
  shm?: string;
}

/**
 * What to do with the image's VOLUMEs that no mount covers: create the
 * directory in the root filesystem (CRI-O's default), bind a fresh host
 * directory under hostDir (Docker's way), or nothing.
 */
export type ImageVolumePolicy = { mode: 'mkdir' } | { mode: 'bind'; hostDir: string } | { mode: 'ignore' };

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export interface MountInput {
  config: ContainerConfig;
  image: ImageConfig;
  podFiles: PodFiles;
  /** Keyed by Mount.host_path as the request wrote it; a missing key means the path does not exist. */
  hostPaths: Readonly<Record<string, HostPathInfo>>;
  /** Image mounts (Mount.image.image) → a host directory holding that image's contents. */
  imageMounts: Readonly<Record<string, string>>;
  namespaces: NamespaceResult;
  recursiveReadOnlyMounts: boolean;
  idmappedMounts: boolean;
  imageVolumes: ImageVolumePolicy;
}

export interface MountResult {
  mounts: Mount[];
  rootfsPropagation?: 'rslave' | 'rshared';
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Directories to create inside the root filesystem (image VOLUMEs in mkdir mode). */
  rootfsDirs: string[];
  /** Host directories to create before the container starts (image VOLUMEs in bind mode). */
  hostDirs: string[];
}

function gidMapped(mappings: readonly IdMapping[] | undefined, gid: number): boolean {
  return !mappings || mappings.some((m) => gid >= m.containerID && gid < m.containerID + m.size);
}

/** The filesystems every container gets unless a mount replaces them. */
export function defaultMounts(opts: {
  privileged: boolean;
  namespaces: NamespaceResult;
  recursiveReadOnlyMounts: boolean;
}): Mount[] {
  const { privileged, namespaces } = opts;
  const ptsOptions = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'];
  if (gidMapped(namespaces.gidMappings, 5)) ptsOptions.push('gid=5');
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ptsOptions },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
  if (namespaces.userNamespace && namespaces.hostNetwork) {
    // sysfs cannot be mounted from a user namespace that does not own the
    // network namespace: bind the node's instead.
    mounts.push({
      destination: '/sys',
      type: 'bind',
      source: '/sys',
      options: ['rbind', opts.recursiveReadOnlyMounts ? 'rro' : 'ro', 'nosuid', 'nodev', 'noexec'],
    });
  } else {
    mounts.push({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] });
  }
  mounts.push({
    destination: '/sys/fs/cgroup',
    type: 'cgroup',
    source: 'cgroup',
    options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'],
  });
  return mounts;
}

const bind = (destination: string, source: string, options: string[]): Mount => ({ destination, type: 'bind', source, options });

const MOUNT = (i: number): string => `config.mounts[${i}]`;

/** Mount.mount_options Krill applies: those that only take permissions away ("ro" is folded into ro/rw). */
const EXTRA_MOUNT_OPTIONS: readonly string[] = ['nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'relatime', 'strictatime'];

function extraMountOptions(m: CriMount, i: number): string[] {
  const out: string[] = [];
  for (const o of m.mountOptions) {
    if (o === 'ro') continue;
    if (!EXTRA_MOUNT_OPTIONS.includes(o)) {
      throw invalidArgument(`${MOUNT(i)}.mount_options: ${JSON.stringify(o)} is not one Krill applies (ro, ${EXTRA_MOUNT_OPTIONS.join(', ')})`);
    }
    if (!out.includes(o)) out.push(o);
  }
  return out;
}

function requestMount(m: CriMount, i: number, input: MountInput, propagation: { value?: 'rslave' | 'rshared' }): Mount {
  const destination = cleanPath(m.containerPath);
  const image = m.image?.image ?? '';
  if (m.imageSubPath !== '' && image === '') throw invalidArgument(`${MOUNT(i)}.image_sub_path is set without an image`);
  let source: string;
  let readonly = m.readonly;
  let propOption = 'rprivate';
  if (image !== '') {
    if (m.hostPath !== '') throw invalidArgument(`${MOUNT(i)}: host_path and image are mutually exclusive`);
    const dir = input.imageMounts[image];
    if (dir === undefined) throw invalidArgument(`${MOUNT(i)}.image ${JSON.stringify(image)} is not available on this node`);
    source = dir;
    readonly = true;
  } else {
    if (!m.hostPath.startsWith('/')) throw invalidArgument(`${MOUNT(i)}.host_path ${JSON.stringify(m.hostPath)} is not an absolute path`);
    const info = input.hostPaths[m.hostPath];
    if (!info) throw invalidArgument(`${MOUNT(i)}.host_path ${JSON.stringify(m.hostPath)} does not exist`);
    source = info.realPath;
    switch (m.propagation) {
      case MountPropagation.PROPAGATION_PRIVATE:
        break;
      case MountPropagation.PROPAGATION_HOST_TO_CONTAINER:
        if (info.propagation === 'private') {
          throw invalidArgument(`${MOUNT(i)}: propagation HOST_TO_CONTAINER needs ${JSON.stringify(m.hostPath)} on a shared or slave mount, and it is private`);
        }
        propOption = 'rslave';
        if (propagation.value !== 'rshared') propagation.value = 'rslave';
        break;
      case MountPropagation.PROPAGATION_BIDIRECTIONAL:
        if (info.propagation !== 'shared') {
          throw invalidArgument(`${MOUNT(i)}: propagation BIDIRECTIONAL needs ${JSON.stringify(m.hostPath)} on a shared mount, and it is ${info.propagation}`);
        }
        propOption = 'rshared';
        propagation.value = 'rshared';
        break;
      default:
        throw invalidArgument(`${MOUNT(i)}.propagation ${m.propagation} is not a known propagation`);
    }
  }
  const options = ['rbind', propOption];
  if (m.recursiveReadOnly) {
    if (!readonly) throw invalidArgument(`${MOUNT(i)}.recursive_read_only needs readonly`);
    if (m.propagation !== MountPropagation.PROPAGATION_PRIVATE) {
      throw invalidArgument(`${MOUNT(i)}.recursive_read_only needs propagation PROPAGATION_PRIVATE`);
    }
    if (!input.recursiveReadOnlyMounts) throw invalidArgument(`${MOUNT(i)}.recursive_read_only is not supported by this node's kernel or runtime`);
    options.push('rro');
  } else {
    options.push(readonly || m.mountOptions.includes('ro') ? 'ro' : 'rw');
  }
  options.push(...extraMountOptions(m, i));
  const out = bind(destination, source, options);
  if (m.uidMappings.length > 0 || m.gidMappings.length > 0) {
    if (!input.idmappedMounts) throw invalidArgument(`${MOUNT(i)}: ID-mapped mounts are not supported by this node's runtime`);
    if (m.uidMappings.length === 0 || m.gidMappings.length === 0) {
      throw invalidArgument(`${MOUNT(i)}: an ID-mapped mount needs both uid_mappings and gid_mappings`);
    }
    out.uidMappings = m.uidMappings.map((x) => ({ containerID: x.containerId, hostID: x.hostId, size: x.length }));
    out.gidMappings = m.gidMappings.map((x) => ({ containerID: x.containerId, hostID: x.hostId, size: x.length }));
  }
  return out;
}

export function buildMounts(input: MountInput): MountResult {
  const sc = input.config.linux?.securityContext;
  const privileged = sc?.privileged ?? false;
  const readonlyRootfs = sc?.readonlyRootfs ?? false;

  // Check every destination first: absolute, not "/", not twice.
  const seen = new Map<string, number>();
  input.config.mounts.forEach((m, i) => {
    if (!m.containerPath.startsWith('/')) {
      throw invalidArgument(`${MOUNT(i)}.container_path ${JSON.stringify(m.containerPath)} is not an absolute path`);
    }
    const dest = cleanPath(m.containerPath);
    if (dest === '/') throw invalidArgument(`${MOUNT(i)}.container_path must not be /`);
    const other = seen.get(dest);
    if (other !== undefined) throw invalidArgument(`${MOUNT(i)}.container_path ${dest} is already mounted by ${MOUNT(other)}`);
    seen.set(dest, i);
  });

  const propagation: { value?: 'rslave' | 'rshared' } = {};
  const extra: Mount[] = input.config.mounts.map((m, i) => requestMount(m, i, input, propagation));
  const taken = new Set(extra.map((m) => m.destination));
  const addIfFree = (m: Mount): void => {
    if (!taken.has(m.destination)) {
      taken.add(m.destination);
      extra.push(m);
    }
  };

  const fileMode = readonlyRootfs ? 'ro' : 'rw';
  const files = input.podFiles;
  if (files.hostname) addIfFree(bind('/etc/hostname', files.hostname, ['rbind', 'rprivate', fileMode]));
  if (files.hosts) addIfFree(bind('/etc/hosts', files.hosts, ['rbind', 'rprivate', fileMode]));
  if (files.resolvConf) addIfFree(bind('/etc/resolv.conf', files.resolvConf, ['rbind', 'rprivate', fileMode]));
  const shm = input.namespaces.hostIpc ? '/dev/shm' : files.shm;
  if (shm) addIfFree(bind('/dev/shm', shm, ['rbind', 'rprivate', 'rw']));

  const rootfsDirs: string[] = [];
  const hostDirs: string[] = [];
  for (const raw of Object.keys(input.image.Volumes ?? {})) {
    const dest = cleanPath(`/${raw}`);
    if (dest === '/' || taken.has(dest)) continue;
    const policy = input.imageVolumes;
    if (policy.mode === 'mkdir') {
      rootfsDirs.push(dest);
    } else if (policy.mode === 'bind') {
      const dir = `${cleanPath(policy.hostDir)}/${encodeURIComponent(dest)}`;
      hostDirs.push(dir);
      addIfFree(bind(dest, dir, ['rbind', 'rprivate', 'rw']));
    }
  }

  const supplied = new Set(extra.map((m) => m.destination));
  const defaults = defaultMounts({ privileged, namespaces: input.namespaces, recursiveReadOnlyMounts: input.recursiveReadOnlyMounts }).filter(
    (m) => !supplied.has(m.destination) && !(supplied.has('/dev') && m.destination.startsWith('/dev/')),
  );
  // Parents before children, so that no mount hides a deeper one.
  const ordered = extra
    .map((m, i) => ({ m, i, depth: pathDepth(m.destination) }))
    .sort((a, b) => a.depth - b.depth || a.i - b.i)
    .map((x) => x.m);

  const result: MountResult = {
    mounts: [...defaults, ...ordered],
    maskedPaths: privileged ? [] : pathList(sc?.maskedPaths ?? [], DEFAULT_MASKED_PATHS, 'masked_paths'),
    readonlyPaths: privileged ? [] : pathList(sc?.readonlyPaths ?? [], DEFAULT_READONLY_PATHS, 'readonly_paths'),
    rootfsDirs,
    hostDirs,
  };
  if (propagation.value) result.rootfsPropagation = propagation.value;
  return result;
}

/** The request's list when it sends one (kubelet always does), else the defaults. */
function pathList(requested: readonly string[], defaults: readonly string[], key: string): string[] {
  if (requested.length === 0) return [...defaults];
  return requested.map((p, i) => {
    if (!p.startsWith('/')) throw invalidArgument(`config.linux.security_context.${key}[${i}] ${JSON.stringify(p)} is not an absolute path`);
    return cleanPath(p);
  });
}
