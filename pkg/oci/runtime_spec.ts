// The parts of the OCI runtime spec (config.json, runtime-spec v1.0.2/v1.1)
// that Krill writes, with the field names of the JSON document. Optional
// fields are left out of the JSON when undefined.

export const OCI_VERSION = '1.0.2';

export interface Spec {
  ociVersion: string;
  process: Process;
  root: Root;
  hostname?: string;
  mounts: Mount[];
  annotations?: Record<string, string>;
  hooks?: Hooks;
  linux: Linux;
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export interface Root {
  path: string;
  readonly?: boolean;
}

export interface Process {
  terminal?: boolean;
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
}

export interface User {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface Capabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface Rlimit {
  /** e.g. "RLIMIT_NOFILE". */
  type: string;
  soft: number;
  hard: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface Namespace {
  type: NamespaceType;
  /** Join this namespace (a /proc/<pid>/ns/* file or a bind-mounted one); absent creates a new one. */
  path?: string;
}

export interface Linux {
  namespaces: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: Device[];
  cgroupsPath?: string;
  resources: Resources;
  rootfsPropagation?: 'private' | 'rprivate' | 'slave' | 'rslave' | 'shared' | 'rshared';
  seccomp?: Seccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  intelRdt?: IntelRdt;
}

export interface IntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
}

export type DeviceType = 'c' | 'b' | 'u' | 'p';

export interface Device {
  path: string;
  type: DeviceType;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceCgroupRule {
  allow: boolean;
  /** c, b or a (all); absent means all. */
  type?: 'c' | 'b' | 'a';
  /** Absent means any (*). */
  major?: number;
  minor?: number;
  access?: string;
}

export interface Resources {
  devices: DeviceCgroupRule[];
  memory?: Memory;
  cpu?: Cpu;
  pids?: { limit: number };
  hugepageLimits?: HugepageLimit[];
  unified?: Record<string, string>;
}

export interface Memory {
  limit?: number;
  /** Memory plus swap; -1 is unlimited. */
  swap?: number;
}

export interface Cpu {
  shares?: number;
  quota?: number;
  period?: number;
  cpus?: string;
  mems?: string;
}

export interface HugepageLimit {
  pageSize: string;
  limit: number;
}

export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: Syscall[];
}

export interface Syscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SyscallArg[];
}

export interface SyscallArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
