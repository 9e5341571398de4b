// What the pod handlers need from the container manager: StopPodSandbox stops
// every container of the pod, RemovePodSandbox removes them, and the pod's
// stats include theirs. The container manager implements it; until it exists,
// `noContainers` is honest: there are none.
import type { ContainerStats, ContainerStatus } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';

export interface PodContainers {
  /** Stops every container of the pod (kubelet's grace is gone by now: stop without delay). */
  stopAllInPod(podId: string, log: Logger): Promise<void>;
  /** Stops and removes every container of the pod. */
  removeAllInPod(podId: string, log: Logger): Promise<void>;
  /** Usage of each container of the pod. */
  statsInPod(podId: string): Promise<ContainerStats[]>;
  /**
   * The status of every container of the pod, for PodSandboxStatus: kubelet's
   * evented PLEG takes these as the pod's containers when the response has a
   * timestamp, instead of listing them.
   */
  statusesInPod(podId: string): ContainerStatus[];
}

export const noContainers: PodContainers = {
  stopAllInPod: async () => undefined,
  removeAllInPod: async () => undefined,
  statsInPod: async () => [],
  statusesInPod: () => [],
};
