// Resource usage as the CRI shows it, for pods and containers alike.
import type { CpuUsage, MemoryUsage } from '../../api/runtime/v1/api';
import type { MemoryStats } from '../cgroups/stats';

export const u64 = (value: bigint): { value: bigint } => ({ value });

export function criCpu(timestamp: bigint, usageNs: bigint, nanoCores?: bigint): CpuUsage {
  return { timestamp, usageCoreNanoSeconds: u64(usageNs), usageNanoCores: nanoCores !== undefined ? u64(nanoCores) : undefined, psi: undefined };
}

export function criMemory(timestamp: bigint, m: MemoryStats): MemoryUsage {
  return {
    timestamp,
    workingSetBytes: u64(m.workingSetBytes),
    availableBytes: m.limitBytes !== undefined ? u64(m.limitBytes > m.workingSetBytes ? m.limitBytes - m.workingSetBytes : 0n) : undefined,
    usageBytes: u64(m.usageBytes),
    rssBytes: u64(m.rssBytes),
    pageFaults: u64(m.pageFaults),
    majorPageFaults: u64(m.majorPageFaults),
    // Pressure stall figures exist on cgroup v2 only (memory.pressure); this node reads v1.
    psi: undefined,
  };
}
