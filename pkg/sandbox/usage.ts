// A pod's resource usage: cpu, memory and processes from its cgroup,
// interface counters from its network namespace.
import { stat } from 'node:fs/promises';
import type { Cgroups } from '../cgroups/cgroups';
import { readPseudoFile } from '../cgroups/read_pseudo';
import type { CgroupStats, MemoryStats } from '../cgroups/stats';
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
  /** Processes in the pod's cgroup (cgroup.procs, every level). */
  processes?: bigint;
  /** Interfaces of the pod's network namespace, loopback left out. */
  interfaces?: InterfaceCounters[];
  /** The pod cgroup's reading as it came (threads, user/system time, the detail). */
  cgroup?: CgroupStats;
}

export interface UsageReadOptions {
  /**
   * For the CRI metrics: read the cgroup's detail as well, and leave the CPU
   * samples alone, so that usage_nano_cores stays the rate between two stats calls.
   */
  detailed?: boolean;
}

export class UsageReader {
  /** The previous cpu sample of each pod: usage in nanocores is the rate between two. */
  private readonly cpuSamples = new Map<string, { usageNs: bigint; at: bigint }>();

  constructor(
    private readonly cgroups: Pick<Cgroups, 'exists' | 'stats' | 'procs'>,
    private readonly namespaces: PodNamespaceDriver,
  ) {}

  forget(podId: string): void {
    this.cpuSamples.delete(podId);
  }

  async read(s: Sandbox, opts: UsageReadOptions = {}): Promise<PodUsage> {
    const timestamp = nowNs();
    const out: PodUsage = { timestamp };
    const cg = this.cgroups;
    let procs: number[] | undefined;
    if (await cg.exists(s.meta.cgroupPath)) {
      const stats = await cg.stats(s.meta.cgroupPath, opts.detailed ?? false);
      out.cgroup = stats;
      if (stats.cpu) {
        const nanoCores = opts.detailed ? undefined : this.nanoCores(s.id, stats.cpu.usageNs, timestamp);
        out.cpu = { usageNs: stats.cpu.usageNs, ...(nanoCores !== undefined ? { nanoCores } : {}) };
      }
      if (stats.memory) out.memory = stats.memory;
      procs = await cg.procs(s.meta.cgroupPath);
      out.processes = BigInt(procs.length);
    }
    const netns = s.meta.namespaces.network;
    if (netns && s.status.state === 'ready' && (await this.namespaces.isMounted(netns))) {
      out.interfaces = parseNetDev(await this.netDev(s, netns, procs));
    }
    return out;
  }

  private nanoCores(podId: string, usageNs: bigint, at: bigint): bigint | undefined {
    const prev = this.cpuSamples.get(podId);
    this.cpuSamples.set(podId, { usageNs, at });
    if (!prev || at <= prev.at || usageNs < prev.usageNs) return undefined;
    return ((usageNs - prev.usageNs) * 1_000_000_000n) / (at - prev.at);
  }

  /** /proc/net/dev of the pod's netns: read through a process inside it when there is one (no spawn), else via nsenter. */
  private async netDev(s: Sandbox, netns: string, procs: number[] | undefined): Promise<string> {
    try {
      const target = (await stat(netns)).ino;
      const candidates = [...(s.status.infra ? [s.status.infra.pid] : []), ...(procs ?? (await this.cgroups.procs(s.meta.cgroupPath)))];
      for (const pid of candidates.slice(0, 32)) {
        try {
          if ((await stat(`/proc/${pid}/ns/net`)).ino !== target) continue;
          return await readPseudoFile(`/proc/${pid}/net/dev`);
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
