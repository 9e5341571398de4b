// PodSandboxStatus: state, IPs, namespaces; with verbose, Krill's own view
// (paths, cgroup, CNI result, config) as JSON under the "info" key.
import { invalidArgument, notFound } from '../errors/errors';
import { nowNs } from '../sandbox/clock';
import type { RuntimeHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { criMetadata, criNamespaceOptions, criState, toInfoJson } from './pod_view';

export function podSandboxStatusHandler(deps: PodDeps): RuntimeHandlers['podSandboxStatus'] {
  return async (req) => {
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    const id = deps.sandboxes.resolve(req.podSandboxId);
    const s = id === undefined ? undefined : deps.sandboxes.get(id);
    if (!s) throw notFound(`pod sandbox ${JSON.stringify(req.podSandboxId)} not found`);
    const state = await deps.sandboxes.currentState(s);
    // The statuses are at least as new as the timestamp: taken after it.
    const timestamp = nowNs();
    const containersStatuses = deps.containers.statusesInPod(s.id);
    // An IP is reported only while the pod holds it: a stopped pod's lease is released.
    const ips = state === 'ready' ? s.status.ips : [];
    const info: Record<string, string> = {};
    if (req.verbose) {
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
        state: criState(state),
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
  };
}
