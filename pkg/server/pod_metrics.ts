// ListMetricDescriptors and ListPodSandboxMetrics (KEP-2371): cAdvisor's
// container_* metrics of every ready pod (its cgroup and network namespace)
// and of each of its running containers (their cgroups), read when asked.
import type { PodSandboxMetrics } from '../../api/runtime/v1/api';
import type { Sandbox } from '../sandbox/types';
import type { PodDeps } from './pod_deps';
import type { RuntimeServiceHandlers } from './rpc';
import { cgroupMetrics, metricDescriptors, networkMetrics, type BaseLabels } from './metrics_view';

// Pods read at once: each read is a few dozen small file reads, so a little overlap
// hides their latency without flooding the thread pool libuv does file I/O on.
const PODS_AT_ONCE = 4;

export async function podMetricsOf(deps: PodDeps, s: Sandbox): Promise<PodSandboxMetrics> {
  const md = s.meta.config.metadata;
  const pod = { namespace: md?.namespace ?? '', pod: md?.name ?? '' };
  const labels: BaseLabels = { ...pod, container: '', id: s.meta.cgroupPath, image: '', name: '' };
  const [usage, containerMetrics] = await Promise.all([deps.sandboxes.usage(s, { detailed: true }), deps.containers.metricsInPod(s.id, pod)]);
  const metrics = usage.cgroup
    ? cgroupMetrics(labels, { timestamp: usage.timestamp, cgroup: usage.cgroup, startedAt: s.meta.createdAt, ...(usage.processes !== undefined ? { processes: usage.processes } : {}) })
    : [];
  if (usage.interfaces) metrics.push(...networkMetrics(labels, usage.timestamp, usage.interfaces));
  return { podSandboxId: s.id, metrics, containerMetrics };
}

export function listMetricDescriptorsHandler(): RuntimeServiceHandlers['listMetricDescriptors'] {
  const descriptors = metricDescriptors();
  return async () => ({ descriptors });
}

export function listPodSandboxMetricsHandler(deps: PodDeps): RuntimeServiceHandlers['listPodSandboxMetrics'] {
  return async () => {
    const pods = deps.sandboxes.list().filter((s) => s.status.state === 'ready');
    const podMetrics: PodSandboxMetrics[] = new Array(pods.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pods.length) {
        const i = next++;
        podMetrics[i] = await podMetricsOf(deps, pods[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PODS_AT_ONCE, pods.length) }, worker));
    return { podMetrics };
  };
}
