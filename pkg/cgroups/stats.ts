// Reads a cgroup's usage from its interface files, for v1 (one directory per
// controller) and v2 (one directory). A file that is missing leaves its part
// of the result undefined rather than failing the whole read: hosts differ in
// which controllers they mount and enable.
import { join } from 'node:path';
import { readPseudoFile } from './read_pseudo';

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
  /** Page cache (v1 total_cache, v2 file). */
  cacheBytes: bigint;
  /** Memory-mapped files (v1 total_mapped_file, v2 file_mapped). */
  mappedFileBytes: bigint;
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

/**
 * What only the CRI metrics (ListPodSandboxMetrics) show: read on request,
 * so that the stats calls kubelet makes every few seconds read no more files.
 * Each field is undefined where the host has no such file.
 */
export interface CgroupDetail {
  /** CFS bandwidth: enforcement periods elapsed, periods throttled, time throttled. */
  cpuPeriods?: bigint;
  cpuThrottledPeriods?: bigint;
  cpuThrottledNs?: bigint;
  /** cpu.shares (v1), or cpu.weight converted to shares as cAdvisor does (v2). */
  cpuShares?: bigint;
  /** CFS quota and period in microseconds; quota undefined when unlimited. */
  cpuQuotaUs?: bigint;
  cpuPeriodUs?: bigint;
  /** Times usage hit the limit (v1 memory.failcnt, v2 memory.events max). */
  memoryFailcnt?: bigint;
  /** Highest usage recorded (v1 memory.max_usage_in_bytes, v2 memory.peak). */
  memoryMaxUsageBytes?: bigint;
  /** Soft limit (v1 memory.soft_limit_in_bytes, v2 memory.low); undefined when unlimited. */
  memoryReservationBytes?: bigint;
  /** OOM kills in the cgroup (oom_kill of v1 memory.oom_control, v2 memory.events). */
  oomKills?: bigint;
}

export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  pids?: PidsStats;
  detail?: CgroupDetail;
}

/** Directories of one cgroup in the v1 hierarchies that carry usage. */
export interface V1Dirs {
  cpuacct?: string;
  /** The cpu controller (CFS bandwidth and shares); only read for the detail. */
  cpu?: string;
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
    return await readPseudoFile(file);
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

/** cAdvisor's conversion of a v2 cpu.weight (1..10000) to v1 shares (2..262144). */
export function weightToShares(weight: bigint): bigint {
  return weight <= 0n ? 0n : 2n + ((weight - 1n) * 262142n) / 9999n;
}

/** v2 cpu.max: "quota period", quota "max" when unlimited. */
export function parseCpuMax(text: string): { quotaUs?: bigint; periodUs?: bigint } {
  const [quota, period] = text.trim().split(/\s+/);
  return {
    ...(quota && /^\d+$/.test(quota) ? { quotaUs: BigInt(quota) } : {}),
    ...(period && /^\d+$/.test(period) ? { periodUs: BigInt(period) } : {}),
  };
}

/** Drops the undefined fields (the detail is compared and spread as a plain object). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

async function readV1Detail(dirs: V1Dirs): Promise<CgroupDetail> {
  const text = (dir: string | undefined, file: string): Promise<string | undefined> => (dir ? readText(join(dir, file)) : Promise.resolve(undefined));
  // Independent files, read at once: a scrape reads these for every pod and container.
  const [cpuStat, quota, shares, period, oomControl, failcnt, maxUsage, softLimit] = await Promise.all([
    text(dirs.cpu, 'cpu.stat'),
    text(dirs.cpu, 'cpu.cfs_quota_us'),
    text(dirs.cpu, 'cpu.shares'),
    text(dirs.cpu, 'cpu.cfs_period_us'),
    text(dirs.memory, 'memory.oom_control'),
    text(dirs.memory, 'memory.failcnt'),
    text(dirs.memory, 'memory.max_usage_in_bytes'),
    text(dirs.memory, 'memory.soft_limit_in_bytes'),
  ]);
  const num = (t: string | undefined): bigint | undefined => (t === undefined ? undefined : parseSingle(t));
  const stat = parseFlatKeyed(cpuStat ?? '');
  const q = num(quota);
  return defined({
    cpuPeriods: stat.get('nr_periods'),
    cpuThrottledPeriods: stat.get('nr_throttled'),
    cpuThrottledNs: stat.get('throttled_time'),
    cpuShares: num(shares),
    // -1 is v1's "no quota".
    cpuQuotaUs: q !== undefined && q >= 0n ? q : undefined,
    cpuPeriodUs: num(period),
    memoryFailcnt: num(failcnt),
    memoryMaxUsageBytes: num(maxUsage),
    memoryReservationBytes: limitOrUndefined(num(softLimit)),
    oomKills: parseFlatKeyed(oomControl ?? '').get('oom_kill'),
  });
}

async function readV2Detail(dir: string, cpu: Map<string, bigint>): Promise<CgroupDetail> {
  const [cpuMaxText, weight, eventsText, peak, low] = await Promise.all([
    readText(join(dir, 'cpu.max')),
    readNumber(join(dir, 'cpu.weight')),
    readText(join(dir, 'memory.events')),
    readNumber(join(dir, 'memory.peak')),
    readNumber(join(dir, 'memory.low')),
  ]);
  const cpuMax = parseCpuMax(cpuMaxText ?? '');
  const events = parseFlatKeyed(eventsText ?? '');
  const throttledUs = cpu.get('throttled_usec');
  return defined({
    cpuPeriods: cpu.get('nr_periods'),
    cpuThrottledPeriods: cpu.get('nr_throttled'),
    cpuThrottledNs: throttledUs !== undefined ? throttledUs * 1000n : undefined,
    cpuShares: weight !== undefined ? weightToShares(weight) : undefined,
    cpuQuotaUs: cpuMax.quotaUs,
    cpuPeriodUs: cpuMax.periodUs,
    memoryFailcnt: events.get('max'),
    memoryMaxUsageBytes: peak,
    memoryReservationBytes: limitOrUndefined(low),
    oomKills: events.get('oom_kill'),
  });
}

export async function readV1Stats(dirs: V1Dirs, detailed = false): Promise<CgroupStats> {
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
        cacheBytes: stat.get('total_cache') ?? 0n,
        mappedFileBytes: stat.get('total_mapped_file') ?? 0n,
        pageFaults: stat.get('total_pgfault') ?? 0n,
        majorPageFaults: stat.get('total_pgmajfault') ?? 0n,
        ...(limit !== undefined ? { limitBytes: limit } : {}),
        ...(memsw !== undefined ? { swapUsageBytes: memsw > usage ? memsw - usage : 0n } : {}),
        ...(memswLimit !== undefined && limit !== undefined ? { swapLimitBytes: memswLimit > limit ? memswLimit - limit : 0n } : {}),
      };
    }
  }
  if (dirs.pids) out.pids = await readPids(dirs.pids);
  if (detailed) out.detail = await readV1Detail(dirs);
  return out;
}

async function readPids(dir: string): Promise<PidsStats | undefined> {
  const current = await readNumber(join(dir, 'pids.current'));
  if (current === undefined) return undefined;
  const limit = await readNumber(join(dir, 'pids.max'));
  return { current, ...(limit !== undefined ? { limit } : {}) };
}

export async function readV2Stats(dir: string, detailed = false): Promise<CgroupStats> {
  const out: CgroupStats = {};
  const cpuText = await readText(join(dir, 'cpu.stat'));
  const cpu = parseFlatKeyed(cpuText ?? '');
  if (cpuText !== undefined) {
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
      cacheBytes: stat.get('file') ?? 0n,
      mappedFileBytes: stat.get('file_mapped') ?? 0n,
      pageFaults: stat.get('pgfault') ?? 0n,
      majorPageFaults: stat.get('pgmajfault') ?? 0n,
      ...(limit !== undefined ? { limitBytes: limit } : {}),
      ...(swap !== undefined ? { swapUsageBytes: swap } : {}),
      ...(swapLimit !== undefined ? { swapLimitBytes: swapLimit } : {}),
    };
  }
  const pids = await readPids(dir);
  if (pids) out.pids = pids;
  if (detailed) out.detail = await readV2Detail(dir, cpu);
  return out;
}
