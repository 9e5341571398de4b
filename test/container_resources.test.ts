// A container's resources, seen in its cgroup (v1 on this node) and from
// inside: memory limit and OOM kills, cpu quota/period/shares and cpusets,
// oom_score_adj, UpdateContainerResources applied live, ContainerStats and
// ListContainerStats, and log rotation through ReopenContainerLog.
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState, type LinuxContainerResources } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { testImage, waitExited } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';

const BUSYBOX = testImage('layered');
const MiB = 1024n * 1024n;

let f: ContainerFixture;
let pod: TestPod;

beforeAll(async () => {
  f = await containerFixture('ctr-res', [BUSYBOX]);
  pod = await f.pod();
});

afterAll(async () => {
  await f?.cleanup();
});

let seq = 0;
const nextName = (what: string): string => `${what}-${++seq}`;

function resources(r: Partial<LinuxContainerResources>): LinuxContainerResources {
  return {
    cpuPeriod: 0n,
    cpuQuota: 0n,
    cpuShares: 0n,
    memoryLimitInBytes: 0n,
    oomScoreAdj: 0n,
    cpusetCpus: '',
    cpusetMems: '',
    hugepageLimits: [],
    unified: {},
    memorySwapLimitInBytes: 0n,
    ...r,
  };
}

/** A file of the container's cgroup as the node sees it (cgroup v1: one hierarchy per controller). */
async function cgroupFile(id: string, controller: string, file: string): Promise<string> {
  const { cgroup } = await pod.info(id);
  return readFileSync(join('/sys/fs/cgroup', controller, cgroup, file), 'utf8').trim();
}

async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a container that outgrows its memory limit is OOMKilled with that reason', async () => {
  // tail buffers a line that never ends: it grows until the kernel kills it.
  const r = await pod.run(nextName('oom'), BUSYBOX, {
    command: ['sh', '-c', 'tail /dev/zero'],
    linux: { resources: resources({ memoryLimitInBytes: 32n * MiB }) },
  });
  expect(r.status).toMatchObject({ state: ContainerState.CONTAINER_EXITED, exitCode: 137, reason: 'OOMKilled' });
  expect(r.status.message).toMatch(/memory/);
});

test('a container killed otherwise is not called OOMKilled', async () => {
  const id = await pod.start(nextName('killed'), BUSYBOX, { command: ['sleep', '3600'], linux: { resources: resources({ memoryLimitInBytes: 32n * MiB }) } });
  await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
  expect(await pod.status(id)).toMatchObject({ exitCode: 137, reason: 'Error' });
  await f.client.runtime.removeContainer({ containerId: id });
});

describe('a container with cpu and memory limits', () => {
  let id: string;
  const initial = resources({ cpuPeriod: 100_000n, cpuQuota: 50_000n, cpuShares: 512n, memoryLimitInBytes: 64n * MiB, cpusetCpus: '0', cpusetMems: '0', oomScoreAdj: 500n });

  beforeAll(async () => {
    id = await pod.start(nextName('limits'), BUSYBOX, {
      command: ['sleep', '3600'],
      labels: { role: 'limited' },
      linux: { resources: initial },
    });
  });

  afterAll(async () => {
    if (id) await f.client.runtime.removeContainer({ containerId: id });
  });

  test('the limits are in its cgroup files', async () => {
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(await cgroupFile(id, 'cpu', 'cpu.shares')).toBe('512');
    expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(64n * MiB));
    // No swap unless asked: memory+swap is the memory limit.
    expect(await cgroupFile(id, 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(64n * MiB));
    expect(await cgroupFile(id, 'cpuset', 'cpuset.cpus')).toBe('0');
    expect(await cgroupFile(id, 'cpuset', 'cpuset.mems')).toBe('0');
  });

  test('swap and hugepage limits reach the cgroup too', async () => {
    const id2 = await pod.start(nextName('swap-huge'), BUSYBOX, {
      command: ['sleep', '3600'],
      linux: { resources: resources({ memoryLimitInBytes: 64n * MiB, memorySwapLimitInBytes: 96n * MiB, hugepageLimits: [{ pageSize: '2MB', limit: 4n * MiB }] }) },
    });
    try {
      expect(await cgroupFile(id2, 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(96n * MiB));
      expect(await cgroupFile(id2, 'hugetlb', 'hugetlb.2MB.limit_in_bytes')).toBe(String(4n * MiB));
    } finally {
      await f.client.runtime.removeContainer({ containerId: id2 });
    }
  });

  test('the container sees them too, and its oom_score_adj', async () => {
    const r = await pod.exec(id, ['sh', '-c', 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.limit_in_bytes /proc/1/oom_score_adj']);
    expect(r.stdout).toBe(`50000\n${64n * MiB}\n500\n`);
  });

  test('its cgroup is below the pod cgroup parent', async () => {
    const { cgroup, pid } = await pod.info(id);
    expect(cgroup.startsWith(`${pod.config.linux!.cgroupParent}/`)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`:cpu:${cgroup.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });

  test('UpdateContainerResources changes them live and ContainerStatus shows the new ones', async () => {
    const next = resources({ cpuPeriod: 200_000n, cpuQuota: 20_000n, cpuShares: 256n, memoryLimitInBytes: 96n * MiB, cpusetCpus: '0-1', cpusetMems: '0' });
    await f.client.runtime.updateContainerResources({ containerId: id, linux: next, windows: undefined, annotations: {} });
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_period_us')).toBe('200000');
    expect(await cgroupFile(id, 'cpu', 'cpu.shares')).toBe('256');
    expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(96n * MiB));
    expect(await cgroupFile(id, 'cpuset', 'cpuset.cpus')).toBe('0-1');
    const s = await pod.status(id);
    expect(s.state).toBe(ContainerState.CONTAINER_RUNNING);
    expect(s.resources?.linux).toMatchObject({ cpuQuota: 20_000n, cpuPeriod: 200_000n, cpuShares: 256n, memoryLimitInBytes: 96n * MiB });
  });

  test('a bad update is InvalidArgument and changes nothing', async () => {
    await expect(
      f.client.runtime.updateContainerResources({ containerId: id, linux: resources({ cpuQuota: 10n }), windows: undefined, annotations: {} }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('cpu_quota') });
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    await expect(
      f.client.runtime.updateContainerResources({ containerId: 'f'.repeat(64), linux: resources({}), windows: undefined, annotations: {} }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('an update of an exited container is refused', async () => {
    const done = await pod.start(nextName('exited'), BUSYBOX, { command: ['true'] });
    await waitExited(f.client, done);
    await expect(
      f.client.runtime.updateContainerResources({ containerId: done, linux: resources({ cpuQuota: 20_000n }), windows: undefined, annotations: {} }),
    ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await f.client.runtime.removeContainer({ containerId: done });
  });
});

describe('stats', () => {
  let busy: string;
  let idle: string;

  beforeAll(async () => {
    // Writes 2 MiB into its writable layer, holds 16 MiB of anonymous memory, and spins.
    busy = await pod.start(nextName('busy'), BUSYBOX, {
      // (dd holds its 16 MiB buffer while it waits to write into a pipe nobody reads.)
      command: ['sh', '-c', 'dd if=/dev/zero of=/tmp/blob bs=1M count=2 2>/dev/null; dd if=/dev/zero bs=16M count=1 | sleep 3600 & while :; do :; done'],
      labels: { role: 'busy' },
      // A fifth of a CPU is plenty to spin with.
      linux: { resources: resources({ cpuPeriod: 100_000n, cpuQuota: 20_000n }) },
    });
    idle = await pod.start(nextName('idle'), BUSYBOX, { command: ['sleep', '3600'], labels: { role: 'idle' } });
  });

  afterAll(async () => {
    for (const id of [busy, idle]) if (id) await f.client.runtime.removeContainer({ containerId: id });
  });

  test('ContainerStats: cpu, memory and the writable layer', async () => {
    const stats = await until(
      'the busy container to hold its memory and write its file',
      async () => (await f.client.runtime.containerStats({ containerId: busy })).stats!,
      (s) => s.memory!.rssBytes!.value >= 16n * MiB && s.writableLayer!.usedBytes!.value >= 2n * MiB,
    );
    expect(stats.attributes).toMatchObject({ id: busy, labels: { role: 'busy' } });
    expect(stats.cpu!.usageCoreNanoSeconds!.value).toBeGreaterThan(0n);
    expect(stats.memory!.workingSetBytes!.value).toBeGreaterThanOrEqual(16n * MiB);
    expect(stats.memory!.usageBytes!.value).toBeGreaterThanOrEqual(stats.memory!.workingSetBytes!.value);
    expect(stats.memory!.pageFaults!.value).toBeGreaterThan(0n);
    expect(stats.writableLayer!.inodesUsed!.value).toBeGreaterThanOrEqual(1n);
    expect(stats.writableLayer!.fsId!.mountpoint).not.toBe('');
    // A second sample gives a rate: the spinning container uses some CPU.
    await new Promise((r) => setTimeout(r, 200));
    const again = (await f.client.runtime.containerStats({ containerId: busy })).stats!;
    expect(again.cpu!.usageCoreNanoSeconds!.value).toBeGreaterThanOrEqual(stats.cpu!.usageCoreNanoSeconds!.value);
    expect(again.cpu!.usageNanoCores!.value).toBeGreaterThan(0n);
  });

  test('ListContainerStats filters by id, pod and labels', async () => {
    const all = (await f.client.runtime.listContainerStats({ filter: undefined })).stats.map((s) => s.attributes!.id);
    expect(all).toEqual(expect.arrayContaining([busy, idle]));
    const byId = await f.client.runtime.listContainerStats({ filter: { id: idle.slice(0, 12), podSandboxId: '', labelSelector: {} } });
    expect(byId.stats.map((s) => s.attributes!.id)).toEqual([idle]);
    const byLabel = await f.client.runtime.listContainerStats({ filter: { id: '', podSandboxId: pod.id, labelSelector: { role: 'busy' } } });
    expect(byLabel.stats.map((s) => s.attributes!.id)).toEqual([busy]);
    const otherPod = await f.client.runtime.listContainerStats({ filter: { id: '', podSandboxId: 'f'.repeat(64), labelSelector: {} } });
    expect(otherPod.stats).toEqual([]);
  });

  test('ContainerStats of an unknown container is NotFound', async () => {
    await expect(f.client.runtime.containerStats({ containerId: 'f'.repeat(64) })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('logs', () => {
  /** The CRI log format: RFC3339Nano time, stream, P/F tag, content. */
  const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d) (stdout|stderr) (P|F) (.*)$/;
  const contents = (text: string): string[] =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const m = LINE.exec(l);
        if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(l)}`);
        return m[5]!;
      });

  test('ReopenContainerLog after a rotation: old lines stay in the old file, new ones go to a new file, none lost', async () => {
    const id = await pod.start(nextName('rotate'), BUSYBOX, { command: ['sh', '-c', 'i=0; while :; do echo line-$i; i=$((i+1)); sleep 0.02; done'] });
    const { logPath } = await pod.status(id);
    await until('some log lines', () => (existsSync(logPath) ? contents(readFileSync(logPath, 'utf8')).length : 0), (n) => n >= 5);
    renameSync(logPath, `${logPath}.1`);
    await f.client.runtime.reopenContainerLog({ containerId: id });
    // The new file is there when the call returns (kubelet and critest rely on it).
    expect(existsSync(logPath)).toBe(true);
    await until('lines in the new log file', () => (existsSync(logPath) ? contents(readFileSync(logPath, 'utf8')).length : 0), (n) => n >= 5);
    await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
    const before = contents(readFileSync(`${logPath}.1`, 'utf8'));
    const after = contents(readFileSync(logPath, 'utf8'));
    const numbers = [...before, ...after].map((l) => Number(/^line-(\d+)$/.exec(l)![1]));
    expect(numbers).toEqual(numbers.map((_n, i) => i));
    expect(before.length).toBeGreaterThanOrEqual(5);
    expect(after.length).toBeGreaterThanOrEqual(5);
    await expect(f.client.runtime.reopenContainerLog({ containerId: id })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await f.client.runtime.removeContainer({ containerId: id });
    await expect(f.client.runtime.reopenContainerLog({ containerId: id })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('a log path through a symlink out of the log directory is refused, at create and at reopen, and nothing is written there', async () => {
    const outside = mkdtempSync(join(f.k.dir, 'outside-'));
    const linkDir = nextName('linkdir');
    symlinkSync(outside, join(pod.logDir, linkDir));
    await expect(pod.create(nextName('through-dir'), BUSYBOX, { logPath: `${linkDir}/0.log` })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/goes through a symlink/),
    });
    const linkFile = `${nextName('linkfile')}.log`;
    symlinkSync(join(outside, 'target'), join(pod.logDir, linkFile));
    await expect(pod.create(nextName('to-file'), BUSYBOX, { logPath: linkFile })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/is a symlink/) });

    // A rotation that finds a symlink where the log was: refused, the file outside never made.
    const id = await pod.start(nextName('swap'), BUSYBOX, { command: ['sleep', '3600'] });
    const { logPath } = await pod.status(id);
    renameSync(logPath, `${logPath}.1`);
    symlinkSync(join(outside, 'swapped'), logPath);
    await expect(f.client.runtime.reopenContainerLog({ containerId: id })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(readdirSync(outside)).toEqual([]);
    await f.client.runtime.removeContainer({ containerId: id });
  });

  test('a long line without a newline is written as partial chunks ending in a full one', async () => {
    const r = await pod.sh(nextName('partial'), BUSYBOX, 'head -c 20000 /dev/zero | tr "\\0" a; echo; printf tail');
    expect(r.stdout).toBe(`${'a'.repeat(20000)}\ntail`);
    const tags = readFileSync(r.status.logPath, 'utf8').split('\n').filter(Boolean).map((l) => LINE.exec(l)![4]);
    expect(tags.slice(0, -2)).toEqual(tags.slice(0, -2).map(() => 'P'));
    expect(tags.slice(-2)).toEqual(['F', 'P']);
  });
});
