// A pod's resource usage: cpu, memory and processes from its cgroup,
// interface counters from its network namespace.
import { readFile, stat } from 'node:fs/promises';
import type { Cgroups } from '../cgroups/cgroups';
import type { MemoryStats } from '../cgroups/stats';
import { nowNs } from '../util/time';
import type { PodNamespaceDriver } from './namespaces';
import { parseNetDev, type InterfaceCounters } from './netdev';
import type { Sandbox } from './types';

/** A sample of a pod's resource usage. */
export interface PodUsage {
  /** ns since the epoch. */
  timestamp: bigint;
  cpu?: { usageNs: bigint; nanoCores?: bigint };
  memory?: MemoryStats;
  processes?: bigint;
  /** Interfaces of the pod's network namespace, loopback left out. */
  interfaces?: InterfaceCounters[];
}

export class UsageReader {
  /** The previous cpu sample of each pod: usage in nanocores is the rate between two. */
  private readonly cpuSamples = new Map<string, { usageNs: bigint; at: bigint }>();

  constructor(
    private readonly cgroups: Pick<Cgroups, 'exists' | 'stats' | 'processCount' | 'procs'>,
    private readonly namespaces: PodNamespaceDriver,
  ) {}

  forget(podId: string): void {
    this.cpuSamples.delete(podId);
  }

  async read(s: Sandbox): Promise<PodUsage> {
    const timestamp = nowNs();
    const out: PodUsage = { timestamp };
    const cg = this.cgroups;
    if (await cg.exists(s.meta.cgroupPath)) {
      const stats = await cg.stats(s.meta.cgroupPath);
      if (stats.cpu) {
        const prev = this.cpuSamples.get(s.id);
        this.cpuSamples.set(s.id, { usageNs: stats.cpu.usageNs, at: timestamp });
        const nanoCores = prev && timestamp > prev.at && stats.cpu.usageNs >= prev.usageNs
          ? ((stats.cpu.usageNs - prev.usageNs) * 1_000_000_000n) / (timestamp - prev.at)
          : undefined;
        out.cpu = { usageNs: stats.cpu.usageNs, ...(nanoCores !== undefined ? { nanoCores } : {}) };
      }
      if (stats.memory) out.memory = stats.memory;
      out.processes = await cg.processCount(s.meta.cgroupPath, stats);
    }
    const netns = s.meta.namespaces.network;
    if (netns && s.status.state === 'ready' && (await this.namespaces.isMounted(netns))) {
      out.interfaces = parseNetDev(await this.netDev(s, netns));
    }
    return out;
  }

  /** /proc/net/dev of the pod's netns: read through a process inside it when there is one (no spawn), else via nsenter. */
  private async netDev(s: Sandbox, netns: string): Promise<string> {
    try {
      const target = (await stat(netns)).ino;
      const candidates = [...(s.status.infra ? [s.status.infra.pid] : []), ...(await this.cgroups.procs(s.meta.cgroupPath))];
      for (const pid of candidates.slice(0, 32)) {
        try {
          if ((await stat(`/proc/${pid}/ns/net`)).ino !== target) continue;
          return await readFile(`/proc/${pid}/net/dev`, 'utf8');
        } catch {
          // exited meanwhile
        }
      }
    } catch {
      // fall back below
    }
    return this.namespaces.readNetDev(netns);
  }
}
