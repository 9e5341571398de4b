// PodSandboxStats and ListPodSandboxStats: cpu and memory from the pod's
// cgroup, network counters from its network namespace, the process count,
// and each container's own stats.
import type { LinuxPodSandboxStats, NetworkInterfaceUsage, PodSandboxStats } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { InterfaceCounters } from '../sandbox/netdev';
import type { PodUsage } from '../sandbox/usage';
import type { Sandbox } from '../sandbox/types';
import { POD_IFNAME } from '../network/manager';
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { criCpu, criMemory, u64 } from './usage_view';
import { criMetadata } from './pod_view';

function iface(c: InterfaceCounters): NetworkInterfaceUsage {
  return { name: c.name, rxBytes: u64(c.rxBytes), rxErrors: u64(c.rxErrors), txBytes: u64(c.txBytes), txErrors: u64(c.txErrors) };
}

export function linuxPodStats(u: PodUsage): Omit<LinuxPodSandboxStats, 'containers'> {
  const t = u.timestamp;
  const interfaces = u.interfaces?.map(iface);
  return {
    cpu: u.cpu ? criCpu(t, u.cpu.usageNs, u.cpu.nanoCores) : undefined,
    memory: u.memory ? criMemory(t, u.memory) : undefined,
    network: interfaces
      ? { timestamp: t, defaultInterface: interfaces.find((i) => i.name === POD_IFNAME) ?? interfaces[0], interfaces }
      : undefined,
    process: u.processes !== undefined ? { timestamp: t, processCount: u64(u.processes) } : undefined,
    io: undefined,
  };
}

async function podStatsOf(deps: PodDeps, s: Sandbox): Promise<PodSandboxStats> {
  const [usage, containers] = await Promise.all([deps.sandboxes.usage(s), deps.containers.statsInPod(s.id)]);
  return {
    attributes: { id: s.id, metadata: criMetadata(s), labels: s.meta.config.labels, annotations: s.meta.config.annotations },
    linux: { ...linuxPodStats(usage), containers },
    windows: undefined,
  };
}

export function podSandboxStatsHandler(deps: PodDeps): RuntimeServiceHandlers['podSandboxStats'] {
  return async (req) => {
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    return { stats: await podStatsOf(deps, deps.sandboxes.find(req.podSandboxId)) };
  };
}

export function listPodSandboxStatsHandler(deps: PodDeps): RuntimeServiceHandlers['listPodSandboxStats'] {
  return async (req) => {
    const f = req.filter;
    const pods = deps.sandboxes.list().filter((s) => {
      if (f?.id && !s.id.startsWith(f.id)) return false;
      return Object.entries(f?.labelSelector ?? {}).every(([k, v]) => s.meta.config.labels[k] === v);
    });
    const stats: PodSandboxStats[] = [];
    // One pod at a time: each may spawn nsenter, and kubelet asks every few seconds.
    for (const s of pods) stats.push(await podStatsOf(deps, s));
    return { stats };
  };
}
