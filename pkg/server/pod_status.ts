// PodSandboxStatus: state, IPs, namespaces; with verbose, Krill's own view
// (paths, cgroup, CNI result, config) as JSON under the "info" key.
import type { PodSandboxStatusResponse } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { Sandbox } from '../sandbox/types';
import { nowNs } from '../util/time';
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { criMetadata, criNamespaceOptions, criPodState, toInfoJson } from './pod_view';

/** PodSandboxStatus of a pod (also what GetContainerEvents sends with each event). */
export async function podSandboxStatusOf(deps: PodDeps, s: Sandbox, verbose: boolean): Promise<PodSandboxStatusResponse> {
  const state = await deps.sandboxes.currentState(s);
  // The statuses are at least as new as the timestamp: taken after it.
  const timestamp = nowNs();
  const containersStatuses = deps.containers.statusesInPod(s.id);
  // An IP is reported only while the pod holds it: a stopped pod's lease is released.
  const ips = state === 'ready' ? s.status.ips : [];
  const info: Record<string, string> = {};
  if (verbose) {
    const cni = await deps.network.cache.read(s.id);
    info.info = toInfoJson({
      id: s.id,
      state,
      reason: s.status.reason,
      runtimeHandler: s.meta.runtimeHandler,
      handler: s.meta.handler,
      hostname: s.meta.hostname,
      namespaceModes: s.meta.modes,
      namespaces: s.meta.namespaces,
      paths: s.meta.paths,
      cgroupParent: s.meta.cgroupParent,
      cgroupPath: s.meta.cgroupPath,
      oomScoreAdj: s.meta.oomScoreAdj,
      infra: s.status.infra,
      network: s.status.network,
      cniResult: cni?.result,
      stoppedAt: s.status.stoppedAt,
      config: s.meta.config,
    });
  }
  return {
    status: {
      id: s.id,
      metadata: criMetadata(s),
      state: criPodState(state),
      createdAt: s.meta.createdAt,
      network: { ip: ips[0] ?? '', additionalIps: ips.slice(1).map((ip) => ({ ip })) },
      linux: { namespaces: { options: criNamespaceOptions(s) } },
      labels: s.meta.config.labels,
      annotations: s.meta.config.annotations,
      runtimeHandler: s.meta.runtimeHandler,
    },
    info,
    containersStatuses,
    timestamp,
  };
}

export function podSandboxStatusHandler(deps: PodDeps): RuntimeServiceHandlers['podSandboxStatus'] {
  return async (req) => {
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    return podSandboxStatusOf(deps, deps.sandboxes.find(req.podSandboxId), req.verbose);
  };
}
