// The CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics) as pure
// functions of cgroup and /proc/net/dev readings. kubelet (gate
// PodAndContainerStatsFromCRI) serves them on /metrics/cadvisor in place of
// cAdvisor's, turning each descriptor into a Prometheus family and each
// Metric.value (a uint64) into its float as it is; so names, label keys and
// units follow cAdvisor's, and only what Krill reads is described.
import { MetricType, type Metric, type MetricDescriptor } from '../../api/runtime/v1/api';
import type { CgroupStats } from '../cgroups/stats';
import type { InterfaceCounters } from '../sandbox/netdev';

/** cAdvisor's base labels, as kubelet gives them (pkg/kubelet/server/server.go containerPrometheusLabelsFunc). */
export const BASE_LABEL_KEYS = ['container', 'id', 'image', 'name', 'namespace', 'pod'] as const;

/**
 * The base label values of one cgroup. As cAdvisor: `id` is the cgroup path;
 * a pod's own cgroup has empty container, image and name.
 */
export type BaseLabels = Record<(typeof BASE_LABEL_KEYS)[number], string>;

interface Family {
  help: string;
  type: MetricType;
  /** Labels after the base ones. */
  extra?: readonly string[];
}

const { COUNTER, GAUGE } = MetricType;

const FAMILIES = {
  container_last_seen: { help: 'Last time a container was seen by the exporter', type: GAUGE },
  container_start_time_seconds: { help: 'Start time of the container since unix epoch in seconds.', type: GAUGE },
  container_cpu_usage_seconds_total: { help: 'Cumulative cpu time consumed in seconds.', type: COUNTER, extra: ['cpu'] },
  container_cpu_user_seconds_total: { help: 'Cumulative user cpu time consumed in seconds.', type: COUNTER },
  container_cpu_system_seconds_total: { help: 'Cumulative system cpu time consumed in seconds.', type: COUNTER },
  container_cpu_cfs_periods_total: { help: 'Number of elapsed enforcement period intervals.', type: COUNTER },
  container_cpu_cfs_throttled_periods_total: { help: 'Number of throttled period intervals.', type: COUNTER },
  container_cpu_cfs_throttled_seconds_total: { help: 'Total time duration the container has been throttled.', type: COUNTER },
  container_memory_usage_bytes: { help: 'Current memory usage in bytes, including all memory regardless of when it was accessed', type: GAUGE },
  container_memory_working_set_bytes: { help: 'Current working set in bytes.', type: GAUGE },
  container_memory_rss: { help: 'Size of RSS in bytes.', type: GAUGE },
  container_memory_cache: { help: 'Number of bytes of page cache memory.', type: GAUGE },
  container_memory_mapped_file: { help: 'Size of memory mapped files in bytes.', type: GAUGE },
  container_memory_swap: { help: 'Container swap usage in bytes.', type: GAUGE },
  container_memory_failcnt: { help: 'Number of memory usage hits limits', type: COUNTER },
  container_memory_max_usage_bytes: { help: 'Maximum memory usage recorded in bytes', type: GAUGE },
  container_memory_failures_total: { help: 'Cumulative count of memory allocation failures.', type: COUNTER, extra: ['failure_type', 'scope'] },
  container_oom_events_total: { help: 'Count of out of memory events observed for the container', type: COUNTER },
  container_processes: { help: 'Number of processes running inside the container.', type: GAUGE },
  container_threads: { help: 'Number of threads running inside the container', type: GAUGE },
  container_threads_max: { help: 'Maximum number of threads allowed inside the container, infinity if value is zero', type: GAUGE },
  container_spec_memory_limit_bytes: { help: 'Memory limit for the container.', type: GAUGE },
  container_spec_memory_reservation_limit_bytes: { help: 'Memory reservation limit for the container.', type: GAUGE },
  container_spec_cpu_shares: { help: 'CPU share of the container.', type: GAUGE },
  container_spec_cpu_period: { help: 'CPU period of the container.', type: GAUGE },
  container_spec_cpu_quota: { help: 'CPU quota of the container.', type: GAUGE },
  container_network_receive_bytes_total: { help: 'Cumulative count of bytes received', type: COUNTER, extra: ['interface'] },
  container_network_receive_packets_total: { help: 'Cumulative count of packets received', type: COUNTER, extra: ['interface'] },
  container_network_receive_errors_total: { help: 'Cumulative count of errors encountered while receiving', type: COUNTER, extra: ['interface'] },
  container_network_receive_packets_dropped_total: { help: 'Cumulative count of packets dropped while receiving', type: COUNTER, extra: ['interface'] },
  container_network_transmit_bytes_total: { help: 'Cumulative count of bytes transmitted', type: COUNTER, extra: ['interface'] },
  container_network_transmit_packets_total: { help: 'Cumulative count of packets transmitted', type: COUNTER, extra: ['interface'] },
  container_network_transmit_errors_total: { help: 'Cumulative count of errors encountered while transmitting', type: COUNTER, extra: ['interface'] },
  container_network_transmit_packets_dropped_total: { help: 'Cumulative count of packets dropped while transmitting', type: COUNTER, extra: ['interface'] },
} as const satisfies Record<string, Family>;

export type MetricName = keyof typeof FAMILIES;

/** Every metric ListPodSandboxMetrics may return, with its label keys. */
export function metricDescriptors(): MetricDescriptor[] {
  return Object.entries(FAMILIES).map(([name, f]: [string, Family]) => ({
    name,
    help: f.help,
    labelKeys: [...BASE_LABEL_KEYS, ...(f.extra ?? [])],
  }));
}

const NS_PER_S = 1_000_000_000n;
// cAdvisor's "unlimited" floor for memory figures (the kernel rounds PAGE_COUNTER_MAX).
const UNLIMITED_BYTES = 1n << 62n;

/**
 * Seconds in a uint64: kubelet takes the value as it is, so nanoseconds must
 * become whole seconds (rounded down), as CRI-O and containerd do. Finer CPU
 * figures are in the stats calls (usage_core_nano_seconds), which
 * /stats/summary and /metrics/resource use.
 */
export function wholeSeconds(ns: bigint): bigint {
  return ns < 0n ? 0n : ns / NS_PER_S;
}

/** What one cgroup (a pod's or a container's) read as at `timestamp`. */
export interface CgroupSample {
  /** ns since the epoch: each Metric's timestamp. */
  timestamp: bigint;
  cgroup: CgroupStats;
  /** Processes (cgroup.procs); threads come from pids.current. */
  processes?: bigint;
  /** When the container started (the pod: was created), ns since the epoch. */
  startedAt?: bigint;
}

class Builder {
  readonly out: Metric[] = [];

  constructor(
    private readonly labels: readonly string[],
    private readonly timestamp: bigint,
  ) {}

  add(name: MetricName, value: bigint | undefined, extra: readonly string[] = []): void {
    if (value === undefined) return;
    const f: Family = FAMILIES[name];
    this.out.push({
      name,
      timestamp: this.timestamp,
      metricType: f.type,
      labelValues: [...this.labels, ...extra],
      value: { value: value < 0n ? 0n : value },
    });
  }
}

function baseValues(l: BaseLabels): string[] {
  return BASE_LABEL_KEYS.map((k) => l[k]);
}

/** The samples of one cgroup: only the figures the reading has. */
export function cgroupMetrics(labels: BaseLabels, s: CgroupSample): Metric[] {
  const b = new Builder(baseValues(labels), s.timestamp);
  const { cpu, memory, pids, detail: d } = s.cgroup;
  b.add('container_last_seen', wholeSeconds(s.timestamp));
  if (s.startedAt !== undefined && s.startedAt > 0n) b.add('container_start_time_seconds', wholeSeconds(s.startedAt));
  if (cpu) {
    b.add('container_cpu_usage_seconds_total', wholeSeconds(cpu.usageNs), ['total']);
    if (cpu.userNs !== undefined) b.add('container_cpu_user_seconds_total', wholeSeconds(cpu.userNs));
    if (cpu.systemNs !== undefined) b.add('container_cpu_system_seconds_total', wholeSeconds(cpu.systemNs));
  }
  b.add('container_cpu_cfs_periods_total', d?.cpuPeriods);
  b.add('container_cpu_cfs_throttled_periods_total', d?.cpuThrottledPeriods);
  if (d?.cpuThrottledNs !== undefined) b.add('container_cpu_cfs_throttled_seconds_total', wholeSeconds(d.cpuThrottledNs));
  if (memory) {
    b.add('container_memory_usage_bytes', memory.usageBytes);
    b.add('container_memory_working_set_bytes', memory.workingSetBytes);
    b.add('container_memory_rss', memory.rssBytes);
    b.add('container_memory_cache', memory.cacheBytes);
    b.add('container_memory_mapped_file', memory.mappedFileBytes);
    b.add('container_memory_swap', memory.swapUsageBytes);
    // The hierarchical counters (v1 total_pg*, v2 pg*): the "hierarchy" scope of cAdvisor's four.
    b.add('container_memory_failures_total', memory.pageFaults, ['pgfault', 'hierarchy']);
    b.add('container_memory_failures_total', memory.majorPageFaults, ['pgmajfault', 'hierarchy']);
    // The effective limit (the tighter of the cgroup's own and its ancestors'); 0 when unlimited, as cAdvisor.
    b.add('container_spec_memory_limit_bytes', memory.limitBytes ?? 0n);
  }
  b.add('container_memory_failcnt', d?.memoryFailcnt);
  b.add('container_memory_max_usage_bytes', d?.memoryMaxUsageBytes);
  b.add('container_oom_events_total', d?.oomKills);
  b.add('container_processes', s.processes);
  if (pids) {
    b.add('container_threads', pids.current);
    // cAdvisor: 0 is "no limit".
    b.add('container_threads_max', pids.limit ?? 0n);
  }
  if (d) {
    const reservation = d.memoryReservationBytes;
    b.add('container_spec_memory_reservation_limit_bytes', reservation === undefined || reservation >= UNLIMITED_BYTES ? 0n : reservation);
    b.add('container_spec_cpu_shares', d.cpuShares);
    b.add('container_spec_cpu_period', d.cpuPeriodUs);
    // cAdvisor leaves the quota out when there is none.
    b.add('container_spec_cpu_quota', d.cpuQuotaUs);
  }
  return b.out;
}

/** The pod's network counters, one set per interface of its namespace. */
export function networkMetrics(labels: BaseLabels, timestamp: bigint, interfaces: readonly InterfaceCounters[]): Metric[] {
  const b = new Builder(baseValues(labels), timestamp);
  for (const i of interfaces) {
    const l = [i.name];
    b.add('container_network_receive_bytes_total', i.rxBytes, l);
    b.add('container_network_receive_packets_total', i.rxPackets, l);
    b.add('container_network_receive_errors_total', i.rxErrors, l);
    b.add('container_network_receive_packets_dropped_total', i.rxDropped, l);
    b.add('container_network_transmit_bytes_total', i.txBytes, l);
    b.add('container_network_transmit_packets_total', i.txPackets, l);
    b.add('container_network_transmit_errors_total', i.txErrors, l);
    b.add('container_network_transmit_packets_dropped_total', i.txDropped, l);
  }
  return b.out;
}
