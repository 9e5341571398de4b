// What the pod handlers need from the container manager: StopPodSandbox stops
// every container of the pod, RemovePodSandbox removes them, and the pod's
// stats include theirs. The container manager implements it; until it exists,
// `noContainers` is honest: there are none.
import type { ContainerStats } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';

export interface PodContainers {
  /** Stops every container of the pod (kubelet's grace is gone by now: stop without delay). */
  stopAllInPod(podId: string, log: Logger): Promise<void>;
  /** Stops and removes every container of the pod. */
  removeAllInPod(podId: string, log: Logger): Promise<void>;
  /** Usage of each container of the pod. */
  statsInPod(podId: string): Promise<ContainerStats[]>;
}

export const noContainers: PodContainers = {
  stopAllInPod: async () => undefined,
  removeAllInPod: async () => undefined,
  statsInPod: async () => [],
};
