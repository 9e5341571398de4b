import type { ContainerStats } from '../../api/runtime/v1/api';
import type { Container } from '../container/types';
import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';
import { matchesLabels } from './container_list';
import { criContainerStats } from './container_view';

export async function containerStatsOf(deps: ContainerDeps, c: Container): Promise<ContainerStats> {
  const sample = await deps.containers.stats(c);
  const cpu = sample.cgroup.cpu;
  const nanoCores = cpu ? deps.cpuRates.rate(c.id, cpu.usageNs, sample.timestamp) : undefined;
  return criContainerStats(c, sample, nanoCores, deps.fsMountpoint);
}

export function containerStatsHandler(deps: ContainerDeps): RuntimeServiceHandlers['containerStats'] {
  return async (req) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    return { stats: await containerStatsOf(deps, deps.containers.find(req.containerId)) };
  };
}

export function listContainerStatsHandler(deps: ContainerDeps): RuntimeServiceHandlers['listContainerStats'] {
  return async (req) => {
    const f = req.filter;
    // Writable layers are measured in the background (pkg/storage/usage_cache.ts): the containers' cgroups are read at once.
    const selected = deps.containers.list().filter((c) => {
      if (f?.id && !c.id.startsWith(f.id)) return false;
      if (f?.podSandboxId && !c.meta.podId.startsWith(f.podSandboxId)) return false;
      return matchesLabels(c.meta.config.labels, f?.labelSelector);
    });
    const stats = await Promise.all(selected.map((c) => containerStatsOf(deps, c)));
    if (!f?.id && !f?.podSandboxId && !f?.labelSelector) deps.cpuRates.forget(new Set(selected.map((c) => c.id)));
    return { stats };
  };
}
