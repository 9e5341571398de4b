// CRI resources → the OCI resources runc writes into cgroups (v1 or v2),
// the process's oom_score_adj, and the container's cgroup path for the
// cgroupfs and systemd drivers.
import type { LinuxContainerResources } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { Cpu, HugepageLimit, Memory } from './runtime_spec';

export interface ResourceInput {
  resources: LinuxContainerResources | undefined;
  /** Where errors say the resources came from. */
  field: string;
  cgroupVersion: 1 | 2;
  /** memory.memsw.* (v1) or memory.swap.max (v2) exists. */
  swapAccounting: boolean;
  /** Huge page sizes the node's hugetlb controller knows, as "2MB", "1GB"; empty when it has none. */
  hugepageSizes: readonly string[];
  pidsLimit?: number;
  /** krilld's own oom_score_adj: without CAP_SYS_RESOURCE no child may go below it. */
  oomScoreAdjFloor: number;
}

export interface ResourceResult {
  cpu?: Cpu;
  memory?: Memory;
  pids?: { limit: number };
  hugepageLimits?: HugepageLimit[];
  unified?: Record<string, string>;
  oomScoreAdj: number;
}

function toNumber(v: bigint, field: string, min: bigint): number {
  if (v < min || v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`${field} ${v} is out of range`);
  return Number(v);
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function checkCpuList(text: string, field: string): string {
  if (!CPU_LIST.test(text)) throw invalidArgument(`${field} ${JSON.stringify(text)} is not a list such as "0-3,6"`);
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (b !== undefined && b < a!) throw invalidArgument(`${field} ${JSON.stringify(text)} has a descending range ${part}`);
  }
  return text;
}

const PAGE_SIZE = /^\d+(KB|MB|GB|TB|PB)$/;
const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/;

export function buildResources(input: ResourceInput): ResourceResult {
  const r = input.resources;
  const f = input.field;
  const out: ResourceResult = { oomScoreAdj: input.oomScoreAdjFloor };
  if (input.pidsLimit !== undefined && input.pidsLimit > 0) out.pids = { limit: input.pidsLimit };
  if (!r) return out;

  const cpu: Cpu = {};
  if (r.cpuShares !== 0n) cpu.shares = toNumber(r.cpuShares, `${f}.cpu_shares`, 1n);
  if (r.cpuQuota !== 0n) {
    // -1 is "no limit"; the kernel refuses quotas under 1ms.
    const quota = toNumber(r.cpuQuota, `${f}.cpu_quota`, -1n);
    if (quota !== -1 && quota < 1000) throw invalidArgument(`${f}.cpu_quota ${quota} is below the kernel's minimum of 1000 (µs)`);
    cpu.quota = quota;
  }
  if (r.cpuPeriod !== 0n) cpu.period = toNumber(r.cpuPeriod, `${f}.cpu_period`, 1000n);
  if (r.cpusetCpus !== '') cpu.cpus = checkCpuList(r.cpusetCpus, `${f}.cpuset_cpus`);
  if (r.cpusetMems !== '') cpu.mems = checkCpuList(r.cpusetMems, `${f}.cpuset_mems`);
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const memory: Memory = {};
  if (r.memoryLimitInBytes !== 0n) memory.limit = toNumber(r.memoryLimitInBytes, `${f}.memory_limit_in_bytes`, 1n);
  if (r.memorySwapLimitInBytes !== 0n) {
    const swap = toNumber(r.memorySwapLimitInBytes, `${f}.memory_swap_limit_in_bytes`, -1n);
    if (swap !== -1 && memory.limit !== undefined && swap < memory.limit) {
      throw invalidArgument(`${f}.memory_swap_limit_in_bytes ${swap} is below memory_limit_in_bytes ${memory.limit} (it counts memory plus swap)`);
    }
    if (swap !== -1 && memory.limit === undefined) {
      throw invalidArgument(`${f}.memory_swap_limit_in_bytes needs memory_limit_in_bytes`);
    }
    if (input.swapAccounting) memory.swap = swap;
  } else if (memory.limit !== undefined && input.swapAccounting) {
    // No swap unless asked: memory+swap equal to the memory limit.
    memory.swap = memory.limit;
  }
  if (Object.keys(memory).length > 0) out.memory = memory;

  const hugepages: HugepageLimit[] = [];
  r.hugepageLimits.forEach((h, i) => {
    if (!PAGE_SIZE.test(h.pageSize)) throw invalidArgument(`${f}.hugepage_limits[${i}].page_size ${JSON.stringify(h.pageSize)} is not a size such as "2MB"`);
    const limit = toNumber(h.limit, `${f}.hugepage_limits[${i}].limit`, 0n);
    // kubelet sends every size it knows of; sizes this node lacks cannot be limited.
    if (input.hugepageSizes.includes(h.pageSize)) hugepages.push({ pageSize: h.pageSize, limit });
  });
  if (hugepages.length > 0) out.hugepageLimits = hugepages;

  const unified = Object.entries(r.unified);
  if (unified.length > 0) {
    if (input.cgroupVersion !== 2) throw invalidArgument(`${f}.unified needs cgroup v2, and this node runs cgroup v1`);
    const map: Record<string, string> = {};
    for (const [k, v] of unified) {
      if (!UNIFIED_KEY.test(k)) throw invalidArgument(`${f}.unified key ${JSON.stringify(k)} is not a cgroup file name`);
      if (v.includes('\n')) throw invalidArgument(`${f}.unified[${JSON.stringify(k)}] contains a newline`);
      map[k] = v;
    }
    out.unified = map;
  }

  const adj = r.oomScoreAdj;
  if (adj < -1000n || adj > 1000n) throw invalidArgument(`${f}.oom_score_adj ${adj} is out of range (-1000..1000)`);
  out.oomScoreAdj = Math.max(Number(adj), input.oomScoreAdjFloor);
  return out;
}

