// Containers as the CRI shows them: Container (lists), ContainerStatus,
// ContainerStats.
import {
  ContainerState as CriState,
  Signal as CriSignal,
  type Container as CriContainer,
  type ContainerStats,
  type ContainerStatus,
} from '../../api/runtime/v1/api';
import type { ContainerStatsSample } from '../container/manager';
import type { Container, ContainerState } from '../container/types';
import { criCpu, criMemory, u64 } from './usage_view';
import { msToNs } from '../util/time';
import { parseSignal, toCriSignal } from '../oci/signal';

export function criContainerState(state: ContainerState): CriState {
  switch (state) {
    case 'created':
      return CriState.CONTAINER_CREATED;
    case 'running':
      return CriState.CONTAINER_RUNNING;
    case 'exited':
      return CriState.CONTAINER_EXITED;
    default:
      return CriState.CONTAINER_UNKNOWN;
  }
}

export function criContainer(c: Container): CriContainer {
  const cfg = c.meta.config;
  return {
    id: c.id,
    podSandboxId: c.meta.podId,
    metadata: cfg.metadata,
    image: cfg.image,
    imageRef: c.meta.image.ref,
    imageId: c.meta.image.id,
    state: criContainerState(c.status.state),
    createdAt: c.meta.createdAt,
    labels: cfg.labels,
    annotations: cfg.annotations,
  };
}

export function criContainerStatus(c: Container): ContainerStatus {
  const cfg = c.meta.config;
  const u = c.meta.user;
  return {
    id: c.id,
    metadata: cfg.metadata,
    state: criContainerState(c.status.state),
    createdAt: c.meta.createdAt,
    startedAt: c.status.startedAt,
    finishedAt: c.status.finishedAt,
    exitCode: c.status.exitCode,
    image: cfg.image,
    imageRef: c.meta.image.ref,
    imageId: c.meta.image.id,
    reason: c.status.reason,
    message: c.status.message,
    labels: cfg.labels,
    annotations: cfg.annotations,
    mounts: cfg.mounts,
    logPath: c.meta.logPath,
    resources: c.status.resources ? { linux: c.status.resources, windows: undefined } : undefined,
    user: { linux: { uid: BigInt(u.uid), gid: BigInt(u.gid), supplementalGroups: u.supplementalGroups.map(BigInt) } },
    stopSignal: criSignalNamed(c.meta.stopSignal),
  };
}

/** The recorded stop signal ("SIGQUIT") as the CRI enum; the runtime's default for one it cannot name. */
function criSignalNamed(name: string): CriSignal {
  const sig = parseSignal(name);
  return sig ? toCriSignal(sig) : CriSignal.SIGNAL_RUNTIME_DEFAULT;
}

/** CPU rate from two samples of cumulative usage: nanoseconds of CPU per second. */
export class CpuRates {
  private readonly last = new Map<string, { usageNs: bigint; at: bigint }>();

  rate(id: string, usageNs: bigint, at: bigint): bigint | undefined {
    const prev = this.last.get(id);
    this.last.set(id, { usageNs, at });
    if (!prev || at <= prev.at || usageNs < prev.usageNs) return undefined;
    return ((usageNs - prev.usageNs) * 1_000_000_000n) / (at - prev.at);
  }

  forget(keep: ReadonlySet<string>): void {
    for (const id of this.last.keys()) if (!keep.has(id)) this.last.delete(id);
  }
}

export function criContainerStats(c: Container, s: ContainerStatsSample, nanoCores: bigint | undefined, fsMountpoint: string): ContainerStats {
  const cfg = c.meta.config;
  const t = s.timestamp;
  return {
    attributes: { id: c.id, metadata: cfg.metadata, labels: cfg.labels, annotations: cfg.annotations },
    cpu: s.cgroup.cpu ? criCpu(t, s.cgroup.cpu.usageNs, nanoCores) : { timestamp: t, usageCoreNanoSeconds: u64(0n), usageNanoCores: u64(0n), psi: undefined },
    memory: s.cgroup.memory ? criMemory(t, s.cgroup.memory) : { timestamp: t, workingSetBytes: u64(0n), availableBytes: undefined, usageBytes: u64(0n), rssBytes: u64(0n), pageFaults: u64(0n), majorPageFaults: u64(0n), psi: undefined },
    writableLayer: s.writable
      ? { timestamp: msToNs(s.writable.at), fsId: { mountpoint: fsMountpoint }, usedBytes: u64(s.writable.bytes), inodesUsed: u64(s.writable.inodes) }
      : undefined,
    swap: s.cgroup.memory?.swapUsageBytes !== undefined
      ? { timestamp: t, swapUsageBytes: u64(s.cgroup.memory.swapUsageBytes), swapAvailableBytes: undefined }
      : undefined,
    io: undefined,
  };
}
