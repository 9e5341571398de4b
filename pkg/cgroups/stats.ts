// Reads a cgroup's usage from its interface files, for v1 (one directory per
// controller) and v2 (one directory). A file that is missing leaves its part
// of the result undefined rather than failing the whole read: hosts differ in
// which controllers they mount and enable.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CpuStats {
  /** Cumulative CPU time of every task in the cgroup, in nanoseconds. */
  usageNs: bigint;
  userNs?: bigint;
  systemNs?: bigint;
}

export interface MemoryStats {
  /** Everything charged to the cgroup, page cache included. */
  usageBytes: bigint;
  /** usage minus inactive file pages, the kubelet's eviction signal (never below 0). */
  workingSetBytes: bigint;
  /** Anonymous memory (v1 total_rss, v2 anon). */
  rssBytes: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  /** The effective limit; undefined when unlimited. */
  limitBytes?: bigint;
  swapUsageBytes?: bigint;
  /** Swap limit; undefined when unlimited or not accounted. */
  swapLimitBytes?: bigint;
}

export interface PidsStats {
  current: bigint;
  /** undefined when unlimited. */
  limit?: bigint;
}

export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  pids?: PidsStats;
}

/** Directories of one cgroup in the v1 hierarchies that carry usage. */
export interface V1Dirs {
  cpuacct?: string;
  memory?: string;
  pids?: string;
}

// v1 reports "no limit" as PAGE_COUNTER_MAX pages; anything this large is unlimited.
const UNLIMITED_FLOOR = 1n << 62n;
// USER_HZ is 100 on every Linux architecture Kubernetes runs on.
const NS_PER_TICK = 10_000_000n;

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat) as a map of bigints. */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (!key || value === undefined || !/^\d+$/.test(value)) continue;
    out.set(key, BigInt(value));
  }
  return out;
}

/** A single-value file: a number, or "max" (undefined). */
export function parseSingle(text: string): bigint | undefined {
  const t = text.trim();
  if (t === 'max' || !/^-?\d+$/.test(t)) return undefined;
  return BigInt(t);
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNumber(file: string): Promise<bigint | undefined> {
  const text = await readText(file);
  return text === undefined ? undefined : parseSingle(text);
}

function limitOrUndefined(v: bigint | undefined): bigint | undefined {
  return v === undefined || v >= UNLIMITED_FLOOR ? undefined : v;
}

function minDefined(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

function workingSet(usage: bigint, inactiveFile: bigint): bigint {
  return usage > inactiveFile ? usage - inactiveFile : 0n;
}

export async function readV1Stats(dirs: V1Dirs): Promise<CgroupStats> {
  const out: CgroupStats = {};
  if (dirs.cpuacct) {
    const usage = await readNumber(join(dirs.cpuacct, 'cpuacct.usage'));
    if (usage !== undefined) {
      const ticks = parseFlatKeyed((await readText(join(dirs.cpuacct, 'cpuacct.stat'))) ?? '');
      const user = ticks.get('user');
      const system = ticks.get('system');
      out.cpu = {
        usageNs: usage,
        ...(user !== undefined ? { userNs: user * NS_PER_TICK } : {}),
        ...(system !== undefined ? { systemNs: system * NS_PER_TICK } : {}),
      };
    }
  }
  if (dirs.memory) {
    const usage = await readNumber(join(dirs.memory, 'memory.usage_in_bytes'));
    const statText = await readText(join(dirs.memory, 'memory.stat'));
    if (usage !== undefined && statText !== undefined) {
      const stat = parseFlatKeyed(statText);
      const limit = minDefined(
        limitOrUndefined(await readNumber(join(dirs.memory, 'memory.limit_in_bytes'))),
        limitOrUndefined(stat.get('hierarchical_memory_limit')),
      );
      const memsw = await readNumber(join(dirs.memory, 'memory.memsw.usage_in_bytes'));
      const memswLimit = minDefined(
        limitOrUndefined(await readNumber(join(dirs.memory, 'memory.memsw.limit_in_bytes'))),
        limitOrUndefined(stat.get('hierarchical_memsw_limit')),
      );
      out.memory = {
        usageBytes: usage,
        workingSetBytes: workingSet(usage, stat.get('total_inactive_file') ?? 0n),
        rssBytes: stat.get('total_rss') ?? 0n,
        pageFaults: stat.get('total_pgfault') ?? 0n,
        majorPageFaults: stat.get('total_pgmajfault') ?? 0n,
        ...(limit !== undefined ? { limitBytes: limit } : {}),
        ...(memsw !== undefined ? { swapUsageBytes: memsw > usage ? memsw - usage : 0n } : {}),
        ...(memswLimit !== undefined && limit !== undefined ? { swapLimitBytes: memswLimit > limit ? memswLimit - limit : 0n } : {}),
      };
    }
  }
  if (dirs.pids) out.pids = await readPids(dirs.pids);
  return out;
}

async function readPids(dir: string): Promise<PidsStats | undefined> {
  const current = await readNumber(join(dir, 'pids.current'));
  if (current === undefined) return undefined;
  const limit = await readNumber(join(dir, 'pids.max'));
  return { current, ...(limit !== undefined ? { limit } : {}) };
}

export async function readV2Stats(dir: string): Promise<CgroupStats> {
  const out: CgroupStats = {};
  const cpuText = await readText(join(dir, 'cpu.stat'));
  if (cpuText !== undefined) {
    const cpu = parseFlatKeyed(cpuText);
    const usage = cpu.get('usage_usec');
    const user = cpu.get('user_usec');
    const system = cpu.get('system_usec');
    if (usage !== undefined) {
      out.cpu = {
        usageNs: usage * 1000n,
        ...(user !== undefined ? { userNs: user * 1000n } : {}),
        ...(system !== undefined ? { systemNs: system * 1000n } : {}),
      };
    }
  }
  const usage = await readNumber(join(dir, 'memory.current'));
  const statText = await readText(join(dir, 'memory.stat'));
  if (usage !== undefined && statText !== undefined) {
    const stat = parseFlatKeyed(statText);
    const limit = await readNumber(join(dir, 'memory.max'));
    const swap = await readNumber(join(dir, 'memory.swap.current'));
    const swapLimit = await readNumber(join(dir, 'memory.swap.max'));
    out.memory = {
      usageBytes: usage,
      workingSetBytes: workingSet(usage, stat.get('inactive_file') ?? 0n),
      rssBytes: stat.get('anon') ?? 0n,
      pageFaults: stat.get('pgfault') ?? 0n,
      majorPageFaults: stat.get('pgmajfault') ?? 0n,
      ...(limit !== undefined ? { limitBytes: limit } : {}),
      ...(swap !== undefined ? { swapUsageBytes: swap } : {}),
      ...(swapLimit !== undefined ? { swapLimitBytes: swapLimit } : {}),
    };
  }
  const pids = await readPids(dir);
  if (pids) out.pids = pids;
  return out;
}
