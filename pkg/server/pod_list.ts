// ListPodSandbox: every pod, or those matching the filter (ID or ID prefix,
// state, labels).
import { matchesFilter } from '../sandbox/filter';
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { criMetadata, criPodState } from './pod_view';

export function listPodSandboxHandler(deps: PodDeps): RuntimeServiceHandlers['listPodSandbox'] {
  return async (req) => {
    const f = req.filter;
    const filter = f ? { id: f.id, ...(f.state ? { state: f.state.state } : {}), labelSelector: f.labelSelector } : undefined;
    const items = [];
    const pods = deps.sandboxes.list().filter((s) => !filter?.id || s.id.startsWith(filter.id));
    // kubelet lists every second: recent liveness verdicts, checked at once for the pods that have none.
    const states = await Promise.all(pods.map((s) => deps.sandboxes.listedState(s)));
    for (const [i, s] of pods.entries()) {
      const state = criPodState(states[i]!);
      if (!matchesFilter({ id: s.id, state, labels: s.meta.config.labels }, filter)) continue;
      items.push({
        id: s.id,
        metadata: criMetadata(s),
        state,
        createdAt: s.meta.createdAt,
        labels: s.meta.config.labels,
        annotations: s.meta.config.annotations,
        runtimeHandler: s.meta.runtimeHandler,
      });
    }
    return { items };
  };
}
