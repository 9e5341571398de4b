import { readFileSync } from 'node:fs';
import type { CgroupStats } from '../cgroups/stats';
import type { PodNamespaceDriver } from './namespaces';
import { parseNetDev } from './netdev';
import type { Sandbox } from './types';
import { UsageReader } from './usage';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    5000      40    2    0    0     0          0         0     7000      50    3    0    0     0       0          0
`;

function sandbox(over: { state?: 'ready' | 'notready'; network?: string; infraPid?: number } = {}): Sandbox {
  return {
    id: 'pod1',
    meta: { cgroupPath: '/kubepods/pod1', namespaces: over.network === undefined ? {} : { network: over.network } } as Sandbox['meta'],
    status: { state: over.state ?? 'ready', ips: [], ...(over.infraPid ? { infra: { id: 'infra', pid: over.infraPid } } : {}) },
  };
}

class FakeCgroups {
  exist = true;
  stats_: CgroupStats = {};
  pids: number[] = [];
  async exists(): Promise<boolean> {
    return this.exist;
  }
  detailedReads = 0;
  async stats(_path: string, detailed = false): Promise<CgroupStats> {
    if (detailed) this.detailedReads++;
    return this.stats_;
  }
  async procs(): Promise<number[]> {
    return this.pids;
  }
}

function namespaces(mounted: boolean, readNetDev: () => Promise<string> = async () => NET_DEV): PodNamespaceDriver & { reads: number } {
  const d = {
    reads: 0,
    isMounted: async () => mounted,
    readNetDev: async () => {
      d.reads++;
      return readNetDev();
    },
  };
  return d as unknown as PodNamespaceDriver & { reads: number };
}

const ETH0 = { name: 'eth0', rxBytes: 5000n, rxPackets: 40n, rxErrors: 2n, rxDropped: 0n, txBytes: 7000n, txPackets: 50n, txErrors: 3n, txDropped: 0n };
const memory = { usageBytes: 10n, workingSetBytes: 8n, rssBytes: 4n, cacheBytes: 6n, mappedFileBytes: 1n, pageFaults: 1n, majorPageFaults: 0n };

test('/proc/net/dev: interfaces but loopback, with bytes and errors; malformed lines skipped', () => {
  expect(parseNetDev(`${NET_DEV}  bad: 1 2 3\nnot a line\n`)).toEqual([ETH0]);
});

test('cpu, memory and processes from the pod cgroup; nanocores only from the second sample on', async () => {
  const cg = new FakeCgroups();
  // pids.current counts threads: the process count is the processes listed (cgroup.procs), as cAdvisor's.
  cg.stats_ = { cpu: { usageNs: 1_000_000n } as CgroupStats['cpu'] & object, memory, pids: { current: 7n } as CgroupStats['pids'] & object };
  cg.pids = [10, 11, 12];
  const r = new UsageReader(cg, namespaces(false));
  const first = await r.read(sandbox());
  expect(first.cpu).toEqual({ usageNs: 1_000_000n });
  expect(first.memory).toEqual(memory);
  expect(first.processes).toBe(3n);
  expect(first.cgroup?.pids?.current).toBe(7n);
  expect(first.interfaces).toBeUndefined();
  await new Promise((res) => setTimeout(res, 5));
  cg.stats_ = { ...cg.stats_, cpu: { usageNs: 3_000_000n } as CgroupStats['cpu'] & object };
  const second = await r.read(sandbox());
  expect(second.cpu!.usageNs).toBe(3_000_000n);
  const elapsed = second.timestamp - first.timestamp;
  expect(second.cpu!.nanoCores).toBe((2_000_000n * 1_000_000_000n) / elapsed);
});

test('a detailed read (the CRI metrics) computes no rate and leaves the samples of the stats calls alone', async () => {
  const cg = new FakeCgroups();
  cg.stats_ = { cpu: { usageNs: 1_000_000n } as CgroupStats['cpu'] & object };
  const r = new UsageReader(cg, namespaces(false));
  const first = await r.read(sandbox());
  await new Promise((res) => setTimeout(res, 5));
  cg.stats_ = { cpu: { usageNs: 2_000_000n } as CgroupStats['cpu'] & object };
  expect((await r.read(sandbox(), { detailed: true })).cpu).toEqual({ usageNs: 2_000_000n });
  expect(cg.detailedReads).toBe(1);
  cg.stats_ = { cpu: { usageNs: 3_000_000n } as CgroupStats['cpu'] & object };
  const third = await r.read(sandbox());
  // the rate runs from the first stats read, not from the metrics read between
  expect(third.cpu!.nanoCores).toBe((2_000_000n * 1_000_000_000n) / (third.timestamp - first.timestamp));
});

test('a counter that went backwards (a new cgroup) gives no rate; forget() drops the previous sample', async () => {
  const cg = new FakeCgroups();
  cg.stats_ = { cpu: { usageNs: 5_000_000n } as CgroupStats['cpu'] & object };
  const r = new UsageReader(cg, namespaces(false));
  await r.read(sandbox());
  cg.stats_ = { cpu: { usageNs: 1_000n } as CgroupStats['cpu'] & object };
  expect((await r.read(sandbox())).cpu).toEqual({ usageNs: 1_000n });
  r.forget('pod1');
  cg.stats_ = { cpu: { usageNs: 9_000n } as CgroupStats['cpu'] & object };
  expect((await r.read(sandbox())).cpu).toEqual({ usageNs: 9_000n });
});

test('no cgroup (gone or not made yet): only the timestamp', async () => {
  const cg = new FakeCgroups();
  cg.exist = false;
  const u = await new UsageReader(cg, namespaces(false)).read(sandbox());
  expect(Object.keys(u)).toEqual(['timestamp']);
});

test('interfaces are read only for a ready pod whose network namespace is still mounted', async () => {
  const cg = new FakeCgroups();
  cg.exist = false;
  const mounted = namespaces(true);
  // no process of the pod in that namespace: the driver reads it (nsenter)
  expect((await new UsageReader(cg, mounted).read(sandbox({ network: '/run/ns/pod1/net' }))).interfaces).toEqual([
    ETH0,
  ]);
  expect(mounted.reads).toBe(1);
  const notReady = namespaces(true);
  expect((await new UsageReader(cg, notReady).read(sandbox({ network: '/run/ns/pod1/net', state: 'notready' }))).interfaces).toBeUndefined();
  const unmounted = namespaces(false);
  expect((await new UsageReader(cg, unmounted).read(sandbox({ network: '/run/ns/pod1/net' }))).interfaces).toBeUndefined();
  expect(notReady.reads + unmounted.reads).toBe(0);
  const hostNetwork = namespaces(true);
  expect((await new UsageReader(cg, hostNetwork).read(sandbox())).interfaces).toBeUndefined();
  expect(hostNetwork.reads).toBe(0);
});

test("a process of the pod inside its network namespace is read without a spawn (this process, in this test's namespace)", async () => {
  const cg = new FakeCgroups();
  cg.exist = false;
  cg.pids = [process.pid];
  const driver = namespaces(true);
  // The pod's "namespace file" is this process's own: /proc/<pid>/net/dev is read directly.
  const u = await new UsageReader(cg, driver).read(sandbox({ network: `/proc/${process.pid}/ns/net` }));
  expect(driver.reads).toBe(0);
  expect(u.interfaces).toEqual(parseNetDev(readFileSync(`/proc/${process.pid}/net/dev`, 'utf8')));
});

test('pod processes that are gone are skipped: the driver reads the pod namespace', async () => {
  const cg = new FakeCgroups();
  cg.exist = false;
  cg.pids = [999_999_999]; // no such process
  const driver = namespaces(true);
  await new UsageReader(cg, driver).read(sandbox({ network: `/proc/${process.pid}/ns/net`, infraPid: 999_999_998 }));
  expect(driver.reads).toBe(1);
});
