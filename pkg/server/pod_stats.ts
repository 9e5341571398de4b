// PodSandboxStats and ListPodSandboxStats: cpu and memory from the pod's
// cgroup, network counters from its network namespace, the process count,
// and each container's own stats.
import type { LinuxPodSandboxStats, NetworkInterfaceUsage, PodSandboxStats } from '../../api/runtime/v1/api';
import { invalidArgument, notFound } from '../errors/errors';
import type { InterfaceCounters } from '../sandbox/netdev';
import type { PodUsage } from '../sandbox/usage';
import type { Sandbox } from '../sandbox/types';
import { POD_IFNAME } from '../network/manager';
import type { RuntimeHandlers } from './rpc';
import type { PodDeps } from './pod_deps';
import { criMetadata } from './pod_view';

const u64 = (value: bigint): { value: bigint } => ({ value });

function iface(c: InterfaceCounters): NetworkInterfaceUsage {
  return { name: c.name, rxBytes: u64(c.rxBytes), rxErrors: u64(c.rxErrors), txBytes: u64(c.txBytes), txErrors: u64(c.txErrors) };
}

export function linuxPodStats(u: PodUsage): Omit<LinuxPodSandboxStats, 'containers'> {
  const t = u.timestamp;
  const m = u.memory;
  const interfaces = u.interfaces?.map(iface);
  return {
    cpu: u.cpu ? { timestamp: t, usageCoreNanoSeconds: u64(u.cpu.usageNs), usageNanoCores: u.cpu.nanoCores !== undefined ? u64(u.cpu.nanoCores) : undefined } : undefined,
    memory: m
      ? {
          timestamp: t,
          workingSetBytes: u64(m.workingSetBytes),
          availableBytes: m.limitBytes !== undefined ? u64(m.limitBytes > m.workingSetBytes ? m.limitBytes - m.workingSetBytes : 0n) : undefined,
          usageBytes: u64(m.usageBytes),
          rssBytes: u64(m.rssBytes),
          pageFaults: u64(m.pageFaults),
          majorPageFaults: u64(m.majorPageFaults),
        }
      : undefined,
    network: interfaces
      ? { timestamp: t, defaultInterface: interfaces.find((i) => i.name === POD_IFNAME) ?? interfaces[0], interfaces }
      : undefined,
    process: u.processes !== undefined ? { timestamp: t, processCount: u64(u.processes) } : undefined,
  };
}

async function statsOf(deps: PodDeps, s: Sandbox): Promise<PodSandboxStats> {
  const [usage, containers] = await Promise.all([deps.sandboxes.usage(s), deps.containers.statsInPod(s.id)]);
  return {
    attributes: { id: s.id, metadata: criMetadata(s), labels: s.meta.config.labels, annotations: s.meta.config.annotations },
    linux: { ...linuxPodStats(usage), containers },
    windows: undefined,
  };
}

export function podSandboxStatsHandler(deps: PodDeps): RuntimeHandlers['podSandboxStats'] {
  return async (req) => {
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    const id = deps.sandboxes.resolve(req.podSandboxId);
    const s = id === undefined ? undefined : deps.sandboxes.get(id);
    if (!s) throw notFound(`pod sandbox ${JSON.stringify(req.podSandboxId)} not found`);
    return { stats: await statsOf(deps, s) };
  };
}

export function listPodSandboxStatsHandler(deps: PodDeps): RuntimeHandlers['listPodSandboxStats'] {
  return async (req) => {
    const f = req.filter;
    const pods = deps.sandboxes.list().filter((s) => {
      if (f?.id && !s.id.startsWith(f.id)) return false;
      return Object.entries(f?.labelSelector ?? {}).every(([k, v]) => s.meta.config.labels[k] === v);
    });
    const stats: PodSandboxStats[] = [];
    // One pod at a time: each may spawn nsenter, and kubelet asks every few seconds.
    for (const s of pods) stats.push(await statsOf(deps, s));
    return { stats };
  };
}
