// A container as Krill keeps it: metadata written once at creation and a
// status that changes as it runs (containerd's split between immutable
// metadata and an atomically replaced status).
import type { ContainerConfig, LinuxContainerResources } from '../../api/runtime/v1/api';

/** CREATED, RUNNING, EXITED as in the CRI; `creating` only while CreateContainer runs. */
export type ContainerState = 'creating' | 'created' | 'running' | 'exited';

export interface ContainerMeta {
  podId: string;
  /** <name>_<pod name>_<pod namespace>_<pod uid>_<attempt>: unique on the node. */
  key: string;
  config: ContainerConfig;
  /** The image as the request named it, its ID, and the reference to report (a repo digest when known). */
  image: { requested: string; id: string; ref: string };
  chainIds: string[];
  /** The runtime handler (the pod's). */
  handler: string;
  createdAt: bigint;
  /** Absolute path of the CRI log, or '' when kubelet asked for none. */
  logPath: string;
  bundle: string;
  rootfs: string;
  /** The image's STOPSIGNAL by name ("SIGTERM"). */
  stopSignal: string;
  /** The cgroup as a path relative to each hierarchy root (for stats). */
  cgroupPath: string;
  /** The process identity, for ContainerStatus.user. */
  user: { uid: number; gid: number; supplementalGroups: number[] };
}

export interface ContainerStatusRecord {
  state: ContainerState;
  pid: number;
  startedAt: bigint;
  finishedAt: bigint;
  exitCode: number;
  /** Completed, Error, OOMKilled, ContainerCannotRun, ... */
  reason: string;
  message: string;
  /** Resources as last applied (UpdateContainerResources replaces them). */
  resources?: LinuxContainerResources;
}

export interface Container {
  id: string;
  meta: ContainerMeta;
  status: ContainerStatusRecord;
}
