// The pod sandbox RPCs, for the daemon to spread into its handler table.
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { listPodSandboxHandler } from './pod_list';
import { removePodSandboxHandler } from './pod_remove';
import { runPodSandboxHandler } from './pod_run';
import { listMetricDescriptorsHandler, listPodSandboxMetricsHandler } from './pod_metrics';
import { listPodSandboxStatsHandler, podSandboxStatsHandler } from './pod_stats';
import { podSandboxStatusHandler } from './pod_status';
import { stopPodSandboxHandler } from './pod_stop';
import { updateRuntimeConfigHandler } from './update_runtime_config';

export function podHandlers(deps: PodDeps): Partial<RuntimeServiceHandlers> {
  return {
    runPodSandbox: runPodSandboxHandler(deps),
    stopPodSandbox: stopPodSandboxHandler(deps),
    removePodSandbox: removePodSandboxHandler(deps),
    podSandboxStatus: podSandboxStatusHandler(deps),
    listPodSandbox: listPodSandboxHandler(deps),
    podSandboxStats: podSandboxStatsHandler(deps),
    listPodSandboxStats: listPodSandboxStatsHandler(deps),
    listMetricDescriptors: listMetricDescriptorsHandler(),
    listPodSandboxMetrics: listPodSandboxMetricsHandler(deps),
    updateRuntimeConfig: updateRuntimeConfigHandler(deps),
  };
}
