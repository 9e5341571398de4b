// What the pod handlers need of the pod's containers: StopPodSandbox stops
// every container of the pod, RemovePodSandbox removes them, the pod's stats
// include theirs, and PodSandboxStatus lists their statuses. Cross-area work
// happens here, in pkg/server, so that the managers never call each other.
import type { ContainerMetrics, ContainerStats, ContainerStatus } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import type { ContainerDeps } from './container_deps';
import { containerStatsOf } from './container_stats';
import { criContainerStatus } from './container_view';
import { cgroupMetrics, type BaseLabels } from './metrics_view';

export interface PodContainers {
  /** Stops every container of the pod (kubelet's grace is gone by now: stop without delay). */
  stopAllInPod(podId: string, log: Logger): Promise<void>;
  /** Stops and removes every container of the pod. */
  removeAllInPod(podId: string, log: Logger): Promise<void>;
  /** Usage of each running container of the pod. */
  statsInPod(podId: string): Promise<ContainerStats[]>;
  /** The CRI metrics of each running container of the pod (`pod`: the pod's namespace and name labels). */
  metricsInPod(podId: string, pod: Pick<BaseLabels, 'namespace' | 'pod'>): Promise<ContainerMetrics[]>;
  /**
   * The status of every container of the pod, for PodSandboxStatus: kubelet's
   * evented PLEG takes these as the pod's containers when the response has a
   * timestamp, instead of listing them. Newest first, as kubelet's own
   * listing sorts them: it takes the first status of a name as the current
   * one and does not sort these.
   */
  statusesInPod(podId: string): ContainerStatus[];
}

export function podContainers(deps: ContainerDeps): PodContainers {
  const { containers } = deps;
  return {
    stopAllInPod: (podId, log) => containers.stopAllInPod(podId, log),
    removeAllInPod: (podId, log) => containers.removeAllInPod(podId, log),
    statsInPod: (podId) => Promise.all(containers.inPod(podId).filter((c) => c.status.state === 'running').map((c) => containerStatsOf(deps, c))),
    metricsInPod: (podId, pod) =>
      Promise.all(
        containers.inPod(podId).filter((c) => c.status.state === 'running').map(async (c): Promise<ContainerMetrics> => {
          const sample = await containers.stats(c, { writableLayer: false, detailed: true });
          const cfg = c.meta.config;
          const labels: BaseLabels = {
            ...pod,
            container: cfg.metadata?.name ?? '',
            id: c.meta.cgroupPath,
            image: cfg.image?.userSpecifiedImage || cfg.image?.image || '',
            name: c.id,
          };
          return { containerId: c.id, metrics: cgroupMetrics(labels, { ...sample, startedAt: c.status.startedAt }) };
        }),
      ),
    statusesInPod: (podId) => newestFirst(containers.inPod(podId).filter((c) => c.status.state !== 'creating').map(criContainerStatus)),
  };
}

/** Container statuses sorted by creation time, newest first (ties keep their order). */
export function newestFirst(statuses: ContainerStatus[]): ContainerStatus[] {
  return [...statuses].sort((a, b) => (a.createdAt === b.createdAt ? 0 : a.createdAt < b.createdAt ? 1 : -1));
}
