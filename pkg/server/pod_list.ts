// ListPodSandbox: every pod, or those matching the filter (ID or ID prefix,
// state, labels).
import { matchesFilter } from '../sandbox/filter';
import type { RuntimeHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { criMetadata, criState } from './pod_view';

export function listPodSandboxHandler(deps: PodDeps): RuntimeHandlers['listPodSandbox'] {
  return async (req) => {
    const f = req.filter;
    const filter = f ? { id: f.id, ...(f.state ? { state: f.state.state } : {}), labelSelector: f.labelSelector } : undefined;
    const items = [];
    for (const s of deps.sandboxes.list()) {
      if (filter?.id && !s.id.startsWith(filter.id)) continue;
      const state = criState(await deps.sandboxes.currentState(s));
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
