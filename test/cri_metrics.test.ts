// The CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics) against a
// real krilld: a pod with a container that burns some CPU under a quota and
// holds 16 MiB, one whose child is OOM-killed, and an idle one. Every figure is
// compared with the cgroup file (v1 on this node) or /proc/<pid>/net/dev it
// comes from, read just before and just after the call. Tolerances: counters
// lie between the two readings (seconds: the two readings in whole seconds);
// memory gauges within 1 MiB of them; limits and settings exactly.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxContainerResources, Metric, MetricDescriptor, PodSandboxMetrics, StreamPodSandboxMetricsResponse } from '../api/runtime/v1/api';
import { testImage } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';

const BUSYBOX = testImage('layered');
const MiB = 1024n * 1024n;
const NS_PER_S = 1_000_000_000n;
const BASE_KEYS = ['container', 'id', 'image', 'name', 'namespace', 'pod'];

let f: ContainerFixture;
let pod: TestPod;
let podCgroup: string;
let burner: { id: string; cgroup: string; pid: number };
let oomer: { id: string; cgroup: string };
let idle: string;
let descriptors: MetricDescriptor[];

function resources(r: Partial<LinuxContainerResources>): LinuxContainerResources {
  return {
    cpuPeriod: 0n, cpuQuota: 0n, cpuShares: 0n, memoryLimitInBytes: 0n, oomScoreAdj: 0n, cpusetCpus: '', cpusetMems: '',
    hugepageLimits: [], unified: {}, memorySwapLimitInBytes: 0n, ...r,
  };
}

const cgFile = (controller: string, cgroup: string, file: string): string => readFileSync(join('/sys/fs/cgroup', controller, cgroup, file), 'utf8');
const cgNumber = (controller: string, cgroup: string, file: string): bigint => BigInt(cgFile(controller, cgroup, file).trim());
function cgKeyed(controller: string, cgroup: string, file: string): Record<string, bigint> {
  return Object.fromEntries(cgFile(controller, cgroup, file).trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k!, BigInt(v!)]));
}
/** Processes in the cgroup and every cgroup below it. */
function procCount(cgroup: string): bigint {
  const walk = (dir: string): number => {
    let n = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) n += walk(join(dir, e.name));
    return n;
  };
  return BigInt(walk(join('/sys/fs/cgroup/memory', cgroup)));
}
function netDev(pid: number): Record<string, bigint[]> {
  const out: Record<string, bigint[]> = {};
  for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (rest) out[name!.trim()] = rest.trim().split(/\s+/).map(BigInt);
  }
  return out;
}

/** Every figure this test compares, from the files, at one moment. */
function readFiles() {
  const mem = (cg: string) => ({ usage: cgNumber('memory', cg, 'memory.usage_in_bytes'), stat: cgKeyed('memory', cg, 'memory.stat') });
  return {
    at: BigInt(Date.now()) * 1_000_000n,
    burner: {
      usageNs: cgNumber('cpuacct', burner.cgroup, 'cpuacct.usage'),
      cpuStat: cgKeyed('cpu', burner.cgroup, 'cpu.stat'),
      ...mem(burner.cgroup),
      pids: cgNumber('pids', burner.cgroup, 'pids.current'),
      procs: procCount(burner.cgroup),
      failcnt: cgNumber('memory', burner.cgroup, 'memory.failcnt'),
      maxUsage: cgNumber('memory', burner.cgroup, 'memory.max_usage_in_bytes'),
    },
    pod: { usageNs: cgNumber('cpuacct', podCgroup, 'cpuacct.usage'), ...mem(podCgroup), procs: procCount(podCgroup) },
    oomKills: cgKeyed('memory', oomer.cgroup, 'memory.oom_control').oom_kill!,
    net: netDev(burner.pid),
  };
}

async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ourPod(): Promise<PodSandboxMetrics> {
  const { podMetrics } = await f.client.runtime.listPodSandboxMetrics({});
  const mine = podMetrics.find((p) => p.podSandboxId === pod.id);
  if (!mine) throw new Error('no metrics for the pod');
  return mine;
}

/** The one sample named `name` (with those extra label values) among `ms`. */
function sample(ms: Metric[], name: string, extra: string[] = []): Metric {
  const found = ms.filter((m) => m.name === name && m.labelValues.slice(BASE_KEYS.length).join() === extra.join());
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}{${extra.join()}}`);
  return found[0]!;
}
const value = (ms: Metric[], name: string, extra: string[] = []): bigint => sample(ms, name, extra).value!.value;

function expectBetween(v: bigint, lo: bigint, hi: bigint, slack = 0n): void {
  const [a, b] = lo <= hi ? [lo, hi] : [hi, lo];
  expect(v).toBeGreaterThanOrEqual(a - slack);
  expect(v).toBeLessThanOrEqual(b + slack);
}

beforeAll(async () => {
  f = await containerFixture('cri-metrics', [BUSYBOX]);
  pod = await f.pod();
  podCgroup = pod.config.linux!.cgroupParent;
  // Half a CPU: it spins into its quota (throttled periods), and holds 16 MiB in dd's buffer.
  const b = await pod.start('burner', BUSYBOX, {
    command: ['sh', '-c', 'dd if=/dev/zero bs=16M count=1 | sleep 3600 & while :; do :; done'],
    linux: { resources: resources({ cpuPeriod: 100_000n, cpuQuota: 50_000n, cpuShares: 256n, memoryLimitInBytes: 256n * MiB }) },
  });
  // Its dd asks for 48 MiB under a 32 MiB limit and is OOM-killed; the shell lives on.
  const o = await pod.start('oomer', BUSYBOX, {
    command: ['sh', '-c', 'dd if=/dev/zero bs=48M count=1 | sleep 1; sleep 3600'],
    linux: { resources: resources({ memoryLimitInBytes: 32n * MiB }) },
  });
  idle = await pod.start('idle', BUSYBOX, { command: ['sleep', '3600'] });
  const bi = await pod.info(b);
  burner = { id: b, cgroup: bi.cgroup, pid: bi.pid };
  oomer = { id: o, cgroup: (await pod.info(o)).cgroup };
  descriptors = (await f.client.runtime.listMetricDescriptors({})).descriptors;
  await until('the burner to use a second and a half of CPU, hold 16 MiB, and the oomer to lose its dd',
    () => readFiles(),
    (r) => r.burner.usageNs >= 1_500_000_000n && (r.burner.stat.total_rss ?? 0n) >= 16n * MiB && r.oomKills >= 1n);
}, 120_000);

afterAll(async () => {
  await f?.cleanup();
});

test('descriptors: cAdvisor names with its base labels; every sample returned has one, with a value per label key, and none twice', async () => {
  const byName = new Map(descriptors.map((d) => [d.name, d]));
  expect(byName.size).toBe(descriptors.length);
  for (const d of descriptors) expect(d.labelKeys.slice(0, BASE_KEYS.length)).toEqual(BASE_KEYS);
  const p = await ourPod();
  const all = [...p.metrics, ...p.containerMetrics.flatMap((c) => c.metrics)];
  const seen = new Set<string>();
  for (const m of all) {
    const d = byName.get(m.name);
    expect(d && d.labelKeys.length).toBe(m.labelValues.length);
    const key = `${m.name}${JSON.stringify(m.labelValues)}`;
    expect(seen.has(key)).toBe(false);
    seen.add(key);
  }
  // every descriptor is served for this pod (the families a v1 node has)
  expect([...byName.keys()].filter((n) => !all.some((m) => m.name === n))).toEqual([]);
});

test('the running containers, each labelled as cAdvisor labels it', async () => {
  const p = await ourPod();
  expect(p.containerMetrics.map((c) => c.containerId).sort()).toEqual([burner.id, oomer.id, idle].sort());
  const b = p.containerMetrics.find((c) => c.containerId === burner.id)!;
  const md = pod.config.metadata!;
  expect(sample(b.metrics, 'container_memory_rss').labelValues).toEqual(['burner', burner.cgroup, BUSYBOX, burner.id, md.namespace, md.name]);
  expect(sample(p.metrics, 'container_memory_rss').labelValues).toEqual(['', podCgroup, '', '', md.namespace, md.name]);
});

test('a container\'s figures agree with its cgroup files', async () => {
  const before = readFiles();
  const p = await ourPod();
  const after = readFiles();
  const ms = p.containerMetrics.find((c) => c.containerId === burner.id)!.metrics;
  for (const m of ms) expectBetween(m.timestamp, before.at, after.at, 1_000_000n);
  const [b0, b1] = [before.burner, after.burner];
  expectBetween(value(ms, 'container_cpu_usage_seconds_total', ['total']), b0.usageNs / NS_PER_S, b1.usageNs / NS_PER_S);
  expect(value(ms, 'container_cpu_usage_seconds_total', ['total'])).toBeGreaterThanOrEqual(1n);
  expectBetween(value(ms, 'container_cpu_cfs_periods_total'), b0.cpuStat.nr_periods!, b1.cpuStat.nr_periods!);
  expectBetween(value(ms, 'container_cpu_cfs_throttled_periods_total'), b0.cpuStat.nr_throttled!, b1.cpuStat.nr_throttled!);
  expect(value(ms, 'container_cpu_cfs_throttled_periods_total')).toBeGreaterThan(0n);
  expectBetween(value(ms, 'container_cpu_cfs_throttled_seconds_total'), b0.cpuStat.throttled_time! / NS_PER_S, b1.cpuStat.throttled_time! / NS_PER_S);
  expectBetween(value(ms, 'container_memory_usage_bytes'), b0.usage, b1.usage, MiB);
  expectBetween(value(ms, 'container_memory_rss'), b0.stat.total_rss!, b1.stat.total_rss!, MiB);
  expect(value(ms, 'container_memory_rss')).toBeGreaterThanOrEqual(16n * MiB);
  expectBetween(value(ms, 'container_memory_cache'), b0.stat.total_cache!, b1.stat.total_cache!, MiB);
  expectBetween(value(ms, 'container_memory_working_set_bytes'), b0.usage - b0.stat.total_inactive_file!, b1.usage - b1.stat.total_inactive_file!, MiB);
  expectBetween(value(ms, 'container_memory_failures_total', ['pgfault', 'hierarchy']), b0.stat.total_pgfault!, b1.stat.total_pgfault!);
  expectBetween(value(ms, 'container_memory_max_usage_bytes'), b0.maxUsage, b1.maxUsage);
  expectBetween(value(ms, 'container_memory_failcnt'), b0.failcnt, b1.failcnt);
  expectBetween(value(ms, 'container_threads'), b0.pids, b1.pids);
  expectBetween(value(ms, 'container_processes'), b0.procs, b1.procs);
  expect(value(ms, 'container_spec_cpu_quota')).toBe(50_000n);
  expect(value(ms, 'container_spec_cpu_period')).toBe(100_000n);
  expect(value(ms, 'container_spec_cpu_shares')).toBe(256n);
  expect(value(ms, 'container_spec_memory_limit_bytes')).toBe(256n * MiB);
  const started = (await pod.status(burner.id)).startedAt;
  expect(value(ms, 'container_start_time_seconds')).toBe(started / NS_PER_S);
  expectBetween(value(ms, 'container_last_seen'), before.at / NS_PER_S, after.at / NS_PER_S);
});

test('OOM kills in a container are counted as its memory.oom_control says', async () => {
  const p = await ourPod();
  const ms = p.containerMetrics.find((c) => c.containerId === oomer.id)!.metrics;
  expect(value(ms, 'container_oom_events_total')).toBe(cgKeyed('memory', oomer.cgroup, 'memory.oom_control').oom_kill);
  expect(value(ms, 'container_oom_events_total')).toBeGreaterThanOrEqual(1n);
  expect(value(ms, 'container_spec_memory_limit_bytes')).toBe(32n * MiB);
  // no quota set: cAdvisor leaves the metric out
  expect(ms.some((m) => m.name === 'container_spec_cpu_quota')).toBe(false);
});

test('the pod: its cgroup\'s figures and its network namespace\'s counters per interface', async () => {
  const before = readFiles();
  const p = await ourPod();
  const after = readFiles();
  const ms = p.metrics;
  expectBetween(value(ms, 'container_cpu_usage_seconds_total', ['total']), before.pod.usageNs / NS_PER_S, after.pod.usageNs / NS_PER_S);
  expectBetween(value(ms, 'container_memory_usage_bytes'), before.pod.usage, after.pod.usage, MiB);
  expectBetween(value(ms, 'container_memory_rss'), before.pod.stat.total_rss!, after.pod.stat.total_rss!, MiB);
  expectBetween(value(ms, 'container_processes'), before.pod.procs, after.pod.procs);
  const names = Object.keys(after.net).filter((n) => n !== 'lo');
  expect(names).toContain('eth0');
  for (const i of names) {
    const [n0, n1] = [before.net[i]!, after.net[i]!];
    // /proc/net/dev columns: rx bytes packets errs drop ... (8), tx bytes packets errs drop ...
    const cols: [string, number][] = [
      ['container_network_receive_bytes_total', 0], ['container_network_receive_packets_total', 1],
      ['container_network_receive_errors_total', 2], ['container_network_receive_packets_dropped_total', 3],
      ['container_network_transmit_bytes_total', 8], ['container_network_transmit_packets_total', 9],
      ['container_network_transmit_errors_total', 10], ['container_network_transmit_packets_dropped_total', 11],
    ];
    for (const [name, col] of cols) expectBetween(value(ms, name, [i]), n0[col]!, n1[col]!);
  }
  expect(ms.some((m) => m.labelValues.at(-1) === 'lo')).toBe(false);
  // the same pod seen through PodSandboxStats: the process count is the processes, as the metrics say
  const { stats } = await f.client.runtime.podSandboxStats({ podSandboxId: pod.id });
  expect(stats!.linux!.process!.processCount!.value).toBe(value(ms, 'container_processes'));
});

test('StreamPodSandboxMetrics sends the same pods', async () => {
  const ids: string[] = [];
  for await (const r of f.client.runtime.streamPodSandboxMetrics({}) as AsyncIterable<StreamPodSandboxMetricsResponse>) {
    ids.push(...r.podSandboxMetrics.map((p) => p.podSandboxId));
  }
  expect(ids).toContain(pod.id);
});

test('a stopped container and a stopped pod leave the list', async () => {
  await f.client.runtime.stopContainer({ containerId: idle, timeout: 0n });
  expect((await ourPod()).containerMetrics.map((c) => c.containerId)).not.toContain(idle);
  await f.client.runtime.stopPodSandbox({ podSandboxId: pod.id });
  const { podMetrics } = await f.client.runtime.listPodSandboxMetrics({});
  expect(podMetrics.map((p) => p.podSandboxId)).not.toContain(pod.id);
});
