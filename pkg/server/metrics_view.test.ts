import { MetricType, type Metric } from '../../api/runtime/v1/api';
import type { CgroupStats } from '../cgroups/stats';
import type { InterfaceCounters } from '../sandbox/netdev';
import { BASE_LABEL_KEYS, cgroupMetrics, metricDescriptors, networkMetrics, wholeSeconds, type BaseLabels } from './metrics_view';

const T = 1_700_000_123_456_789_000n;
const labels: BaseLabels = { container: 'app', id: '/kubepods/pod1/krill-c1', image: 'busybox:1', name: 'c1', namespace: 'ns', pod: 'p' };
const BASE = ['app', '/kubepods/pod1/krill-c1', 'busybox:1', 'c1', 'ns', 'p'];

const full: CgroupStats = {
  cpu: { usageNs: 2_999_999_999n, userNs: 1_000_000_000n, systemNs: 999_999_999n },
  memory: {
    usageBytes: 300n,
    workingSetBytes: 250n,
    rssBytes: 200n,
    cacheBytes: 100n,
    mappedFileBytes: 10n,
    pageFaults: 5000n,
    majorPageFaults: 3n,
    limitBytes: 1024n,
    swapUsageBytes: 7n,
  },
  pids: { current: 9n, limit: 100n },
  detail: {
    cpuPeriods: 120n,
    cpuThrottledPeriods: 7n,
    cpuThrottledNs: 2_500_000_000n,
    cpuShares: 512n,
    cpuQuotaUs: 50_000n,
    cpuPeriodUs: 100_000n,
    memoryFailcnt: 2n,
    memoryMaxUsageBytes: 400n,
    memoryReservationBytes: 64n,
    oomKills: 1n,
  },
};

const eth0: InterfaceCounters = { name: 'eth0', rxBytes: 1n, rxPackets: 2n, rxErrors: 3n, rxDropped: 4n, txBytes: 5n, txPackets: 6n, txErrors: 7n, txDropped: 8n };

/** name{extra labels} → value, for compact expectations. */
function table(ms: Metric[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const m of ms) {
    const extra = m.labelValues.slice(BASE_LABEL_KEYS.length);
    out[extra.length ? `${m.name}{${extra.join(',')}}` : m.name] = m.value!.value;
  }
  return out;
}

test('seconds are whole seconds, rounded down (kubelet takes a uint64 value as it is)', () => {
  expect(wholeSeconds(2_999_999_999n)).toBe(2n);
  expect(wholeSeconds(3_000_000_000n)).toBe(3n);
  expect(wholeSeconds(-1n)).toBe(0n);
});

test('descriptors: unique cAdvisor names, the base labels first, then each family\'s own', () => {
  const d = metricDescriptors();
  expect(new Set(d.map((x) => x.name)).size).toBe(d.length);
  for (const x of d) {
    expect(x.name).toMatch(/^container_[a-z_]+$/);
    expect(x.labelKeys.slice(0, BASE_LABEL_KEYS.length)).toEqual([...BASE_LABEL_KEYS]);
    expect(x.help).not.toBe('');
  }
  const keys = Object.fromEntries(d.map((x) => [x.name, x.labelKeys.slice(BASE_LABEL_KEYS.length)]));
  expect(keys.container_cpu_usage_seconds_total).toEqual(['cpu']);
  expect(keys.container_network_receive_bytes_total).toEqual(['interface']);
  expect(keys.container_memory_failures_total).toEqual(['failure_type', 'scope']);
  expect(keys.container_memory_working_set_bytes).toEqual([]);
});

test('a full cgroup reading maps to cAdvisor\'s figures', () => {
  const ms = cgroupMetrics(labels, { timestamp: T, cgroup: full, processes: 2n, startedAt: 1_600_000_000_900_000_000n });
  expect(table(ms)).toEqual({
    container_last_seen: 1_700_000_123n,
    container_start_time_seconds: 1_600_000_000n,
    'container_cpu_usage_seconds_total{total}': 2n,
    container_cpu_user_seconds_total: 1n,
    container_cpu_system_seconds_total: 0n,
    container_cpu_cfs_periods_total: 120n,
    container_cpu_cfs_throttled_periods_total: 7n,
    container_cpu_cfs_throttled_seconds_total: 2n,
    container_memory_usage_bytes: 300n,
    container_memory_working_set_bytes: 250n,
    container_memory_rss: 200n,
    container_memory_cache: 100n,
    container_memory_mapped_file: 10n,
    container_memory_swap: 7n,
    'container_memory_failures_total{pgfault,hierarchy}': 5000n,
    'container_memory_failures_total{pgmajfault,hierarchy}': 3n,
    container_spec_memory_limit_bytes: 1024n,
    container_memory_failcnt: 2n,
    container_memory_max_usage_bytes: 400n,
    container_oom_events_total: 1n,
    container_processes: 2n,
    container_threads: 9n,
    container_threads_max: 100n,
    container_spec_memory_reservation_limit_bytes: 64n,
    container_spec_cpu_shares: 512n,
    container_spec_cpu_period: 100_000n,
    container_spec_cpu_quota: 50_000n,
  });
  for (const m of ms) {
    expect(m.timestamp).toBe(T);
    expect(m.labelValues.slice(0, BASE_LABEL_KEYS.length)).toEqual(BASE);
    expect(m.metricType).toBe(m.name.endsWith('_total') || m.name === 'container_memory_failcnt' ? MetricType.COUNTER : MetricType.GAUGE);
  }
});

test('unlimited is 0 as in cAdvisor; a missing quota, swap or detail leaves those metrics out', () => {
  const { limitBytes: _l, swapUsageBytes: _s, ...memory } = full.memory!;
  const ms = cgroupMetrics(labels, {
    timestamp: T,
    cgroup: { cpu: { usageNs: 5n }, memory, pids: { current: 1n }, detail: { cpuShares: 2n, cpuPeriodUs: 100_000n } },
  });
  const t = table(ms);
  expect(t.container_spec_memory_limit_bytes).toBe(0n);
  expect(t.container_threads_max).toBe(0n);
  expect(t.container_spec_memory_reservation_limit_bytes).toBe(0n);
  for (const absent of ['container_spec_cpu_quota', 'container_memory_swap', 'container_oom_events_total', 'container_memory_failcnt', 'container_cpu_user_seconds_total', 'container_start_time_seconds', 'container_processes']) {
    expect(t[absent]).toBeUndefined();
  }
  // an empty reading still says the cgroup was seen
  expect(table(cgroupMetrics(labels, { timestamp: T, cgroup: {} }))).toEqual({ container_last_seen: 1_700_000_123n });
});

test('network: the eight counters per interface, labelled with it', () => {
  const lo2 = { ...eth0, name: 'net1' };
  const ms = networkMetrics(labels, T, [eth0, lo2]);
  expect(ms).toHaveLength(16);
  expect(table(ms.slice(0, 8))).toEqual({
    'container_network_receive_bytes_total{eth0}': 1n,
    'container_network_receive_packets_total{eth0}': 2n,
    'container_network_receive_errors_total{eth0}': 3n,
    'container_network_receive_packets_dropped_total{eth0}': 4n,
    'container_network_transmit_bytes_total{eth0}': 5n,
    'container_network_transmit_packets_total{eth0}': 6n,
    'container_network_transmit_errors_total{eth0}': 7n,
    'container_network_transmit_packets_dropped_total{eth0}': 8n,
  });
  expect(ms.every((m) => m.metricType === MetricType.COUNTER)).toBe(true);
});

test('every sample has a descriptor, as many label values as it has keys, and no two samples share name and labels', () => {
  const keys = new Map(metricDescriptors().map((d) => [d.name, d.labelKeys.length]));
  const ms = [...cgroupMetrics(labels, { timestamp: T, cgroup: full, processes: 1n, startedAt: T }), ...networkMetrics(labels, T, [eth0])];
  const seen = new Set<string>();
  for (const m of ms) {
    expect(keys.get(m.name)).toBe(m.labelValues.length);
    const key = `${m.name}${JSON.stringify(m.labelValues)}`;
    expect(seen.has(key)).toBe(false);
    seen.add(key);
  }
  // and every family is produced by a full reading: no descriptor without a source
  expect(new Set(ms.map((m) => m.name))).toEqual(new Set(keys.keys()));
});
