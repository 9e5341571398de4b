// kubelet's PodAndContainerStatsFromCRI gate: /stats/summary from Krill's
// ListPodSandboxStats, and /metrics/cadvisor from its ListMetricDescriptors and
// ListPodSandboxMetrics instead of cAdvisor. kubelet gets the gate by a drop-in
// and a restart (as the EventedPLEG tests do) and goes back afterwards. A pod
// burns some CPU and holds 16 MiB; what kubelet serves for it (through the API
// server's node proxy) is compared with the cgroup files and /proc/<pid>/net/dev
// on the node, read just before and just after each request. Tolerances:
// counters lie between the two readings (for the seconds of /metrics/cadvisor,
// both in whole seconds, as Krill sends them); memory within 1 MiB of them;
// limits exactly.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KUBELET_DROPIN_DIR } from './harness/settings';
import { Namespace, apply, crictl, kubectl, nodeName, pod, shContainer, testbed, waitFor, waitPodReady } from './harness/kube';

const MINUTE = 60_000;
const MiB = 1024 * 1024;
const DROPIN = join(KUBELET_DROPIN_DIR, '50-e2e-cri-stats.conf');
const ns = new Namespace('crimetrics');

async function restartKubelet(): Promise<void> {
  await testbed('restart', 'kubelet');
  await waitFor('the node to be Ready after the kubelet restart', async () =>
    (await kubectl(['get', 'node', nodeName(), '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True', 3 * MINUTE);
}

// ---- the node's files

const cgText = (controller: string, cgroup: string, file: string): string => readFileSync(join('/sys/fs/cgroup', controller, cgroup, file), 'utf8');
const cgNumber = (controller: string, cgroup: string, file: string): number => Number(cgText(controller, cgroup, file).trim());
function cgKeyed(controller: string, cgroup: string, file: string): Record<string, number> {
  return Object.fromEntries(cgText(controller, cgroup, file).trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k!, Number(v)]));
}
function procCount(cgroup: string): number {
  const walk = (dir: string): number =>
    readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length +
    readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).reduce((n, e) => n + walk(join(dir, e.name)), 0);
  return walk(join('/sys/fs/cgroup/memory', cgroup));
}
/** /proc/<pid>/net/dev: interface → [rx bytes, rx packets, rx errs, rx drop, ..., tx bytes (8), ...]. */
function netDev(pid: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (rest) out[name!.trim()] = rest.trim().split(/\s+/).map(Number);
  }
  return out;
}

interface Cgroups {
  pod: string;
  container: string;
  pid: number;
}

function readFiles(cg: Cgroups) {
  const mem = (path: string) => {
    const stat = cgKeyed('memory', path, 'memory.stat');
    const usage = cgNumber('memory', path, 'memory.usage_in_bytes');
    return { usage, rss: stat.total_rss!, workingSet: Math.max(0, usage - stat.total_inactive_file!) };
  };
  return {
    pod: { cpuNs: cgNumber('cpuacct', cg.pod, 'cpuacct.usage'), procs: procCount(cg.pod), ...mem(cg.pod) },
    container: { cpuNs: cgNumber('cpuacct', cg.container, 'cpuacct.usage'), procs: procCount(cg.container), threads: cgNumber('pids', cg.container, 'pids.current'), ...mem(cg.container) },
    net: netDev(cg.pid),
  };
}

function expectBetween(v: number, a: number, b: number, slack = 0): void {
  expect(v).toBeGreaterThanOrEqual(Math.min(a, b) - slack);
  expect(v).toBeLessThanOrEqual(Math.max(a, b) + slack);
}

// ---- Prometheus text

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (let l = re.exec(m[3] ?? ''); l; l = re.exec(m[3] ?? '')) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

const KRILL_FAMILIES = [
  'container_last_seen', 'container_start_time_seconds',
  'container_cpu_usage_seconds_total', 'container_cpu_user_seconds_total', 'container_cpu_system_seconds_total',
  'container_cpu_cfs_periods_total', 'container_cpu_cfs_throttled_periods_total', 'container_cpu_cfs_throttled_seconds_total',
  'container_memory_usage_bytes', 'container_memory_working_set_bytes', 'container_memory_rss', 'container_memory_cache',
  'container_memory_mapped_file', 'container_memory_swap', 'container_memory_failcnt', 'container_memory_max_usage_bytes',
  'container_memory_failures_total', 'container_oom_events_total', 'container_processes', 'container_threads', 'container_threads_max',
  'container_spec_memory_limit_bytes', 'container_spec_memory_reservation_limit_bytes', 'container_spec_cpu_shares',
  'container_spec_cpu_period', 'container_spec_cpu_quota',
];

let cg: Cgroups;
let containerId: string;

beforeAll(async () => {
  writeFileSync(DROPIN, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  PodAndContainerStatsFromCRI: true\n');
  await restartKubelet();
  await waitFor('kubelet to run with PodAndContainerStatsFromCRI', async () =>
    (await kubectl(['get', '--raw', `/api/v1/nodes/${nodeName()}/proxy/configz`])).includes('"PodAndContainerStatsFromCRI":true'), MINUTE);
  await ns.create();
  await apply(ns.name, pod('burner', {
    // Half a CPU to spin in (so it is throttled), 16 MiB held in dd's buffer.
    containers: [shContainer('main', 'dd if=/dev/zero bs=16M count=1 | sleep 3600 & while :; do :; done', {
      resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '500m', memory: '128Mi' } },
    })],
  }));
  await waitPodReady(ns.name, 'burner');
  const podId = (await crictl(['pods', '--namespace', ns.name, '--name', 'burner', '--state', 'ready', '-q'])).trim();
  containerId = (await crictl(['ps', '--pod', podId, '--name', 'main', '--state', 'running', '-q'])).trim();
  const inspect = (out: string) => {
    const j = JSON.parse(out) as { info: Record<string, any> };
    return (j.info.info ?? j.info) as Record<string, any>;
  };
  const ci = inspect(await crictl(['inspect', containerId]));
  const pi = inspect(await crictl(['inspectp', podId]));
  cg = { pod: pi.cgroupPath as string, container: ci.cgroup as string, pid: ci.pid as number };
  await waitFor('the burner to have used 2 s of CPU and to hold 16 MiB', async () => {
    const r = readFiles(cg);
    return r.container.cpuNs >= 2e9 && r.container.rss >= 16 * MiB;
  }, 3 * MINUTE, 1000);
}, 10 * MINUTE);

afterAll(async () => {
  await ns.cleanup();
  rmSync(DROPIN, { force: true });
  await restartKubelet();
}, 10 * MINUTE);

test('/metrics/cadvisor: the pod\'s and its container\'s figures are Krill\'s and match the cgroup files', async () => {
  const before = readFiles(cg);
  const text = await kubectl(['get', '--raw', `/api/v1/nodes/${nodeName()}/proxy/metrics/cadvisor`]);
  const after = readFiles(cg);
  const samples = parseExposition(text).filter((s) => s.labels.namespace === ns.name && s.labels.pod === 'burner');
  const ctr = samples.filter((s) => s.labels.container === 'main');
  const podLevel = samples.filter((s) => s.labels.container === '');
  const one = (set: Sample[], name: string, extra: Record<string, string> = {}): number => {
    const found = set.filter((s) => s.name === name && Object.entries(extra).every(([k, v]) => s.labels[k] === v));
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(extra)}`);
    return found[0]!.value;
  };
  // From the CRI, not cAdvisor: Krill's families only, labelled as Krill labels them.
  expect([...new Set(ctr.map((s) => s.name))].sort()).toEqual([...KRILL_FAMILIES].sort());
  expect(ctr.find((s) => s.name === 'container_memory_rss')!.labels).toMatchObject({ id: cg.container, name: containerId });
  expect(podLevel.find((s) => s.name === 'container_memory_rss')!.labels).toMatchObject({ id: cg.pod, name: '', image: '' });
  // The container.
  expectBetween(one(ctr, 'container_cpu_usage_seconds_total', { cpu: 'total' }), Math.floor(before.container.cpuNs / 1e9), Math.floor(after.container.cpuNs / 1e9));
  expectBetween(one(ctr, 'container_memory_rss'), before.container.rss, after.container.rss, MiB);
  expectBetween(one(ctr, 'container_memory_working_set_bytes'), before.container.workingSet, after.container.workingSet, MiB);
  expectBetween(one(ctr, 'container_memory_usage_bytes'), before.container.usage, after.container.usage, MiB);
  expectBetween(one(ctr, 'container_processes'), before.container.procs, after.container.procs);
  expectBetween(one(ctr, 'container_threads'), before.container.threads, after.container.threads);
  expect(one(ctr, 'container_spec_memory_limit_bytes')).toBe(128 * MiB);
  expect(one(ctr, 'container_spec_cpu_quota')).toBe(cgNumber('cpu', cg.container, 'cpu.cfs_quota_us'));
  expect(one(ctr, 'container_spec_cpu_shares')).toBe(cgNumber('cpu', cg.container, 'cpu.shares'));
  expect(one(ctr, 'container_cpu_cfs_throttled_periods_total')).toBeGreaterThan(0);
  // The pod: its cgroup, and its network namespace per interface.
  expectBetween(one(podLevel, 'container_cpu_usage_seconds_total', { cpu: 'total' }), Math.floor(before.pod.cpuNs / 1e9), Math.floor(after.pod.cpuNs / 1e9));
  expectBetween(one(podLevel, 'container_memory_working_set_bytes'), before.pod.workingSet, after.pod.workingSet, MiB);
  expectBetween(one(podLevel, 'container_processes'), before.pod.procs, after.pod.procs);
  expectBetween(one(podLevel, 'container_network_receive_bytes_total', { interface: 'eth0' }), before.net.eth0![0]!, after.net.eth0![0]!);
  expectBetween(one(podLevel, 'container_network_transmit_packets_total', { interface: 'eth0' }), before.net.eth0![9]!, after.net.eth0![9]!);
}, 3 * MINUTE);

test('/stats/summary: the pod\'s and its container\'s figures come from Krill and match the cgroup files', async () => {
  type Summary = Record<string, any>;
  const before = readFiles(cg);
  const s = JSON.parse(await kubectl(['get', '--raw', `/api/v1/nodes/${nodeName()}/proxy/stats/summary`])) as Summary;
  const after = readFiles(cg);
  const p = (s.pods as Summary[]).find((x) => x.podRef.namespace === ns.name && x.podRef.name === 'burner')!;
  const c = (p.containers as Summary[]).find((x) => x.name === 'main')!;
  expectBetween(c.cpu.usageCoreNanoSeconds, before.container.cpuNs, after.container.cpuNs);
  expectBetween(c.memory.rssBytes, before.container.rss, after.container.rss, MiB);
  expectBetween(c.memory.workingSetBytes, before.container.workingSet, after.container.workingSet, MiB);
  expectBetween(c.memory.usageBytes, before.container.usage, after.container.usage, MiB);
  expectBetween(c.memory.availableBytes, 128 * MiB - before.container.workingSet, 128 * MiB - after.container.workingSet, MiB);
  expect(c.rootfs.usedBytes).toBeGreaterThanOrEqual(0);
  expectBetween(p.cpu.usageCoreNanoSeconds, before.pod.cpuNs, after.pod.cpuNs);
  expectBetween(p.memory.workingSetBytes, before.pod.workingSet, after.pod.workingSet, MiB);
  expectBetween(p.process_stats.process_count, before.pod.procs, after.pod.procs);
  const eth0 = (p.network.interfaces as Summary[]).find((i) => i.name === 'eth0')!;
  expectBetween(eth0.rxBytes, before.net.eth0![0]!, after.net.eth0![0]!);
  expectBetween(eth0.txBytes, before.net.eth0![8]!, after.net.eth0![8]!);
  // usageNanoCores: a rate between two of Krill's samples; half a CPU at most, with some slack for the measuring.
  await waitFor('a CPU rate for the container', async () => {
    const again = JSON.parse(await kubectl(['get', '--raw', `/api/v1/nodes/${nodeName()}/proxy/stats/summary`])) as Summary;
    const cc = (again.pods as Summary[]).find((x) => x.podRef.namespace === ns.name && x.podRef.name === 'burner')?.containers?.find((x: Summary) => x.name === 'main');
    return cc?.cpu?.usageNanoCores > 0.1e9 && cc.cpu.usageNanoCores < 0.6e9;
  }, 2 * MINUTE, 2000);
}, 5 * MINUTE);
