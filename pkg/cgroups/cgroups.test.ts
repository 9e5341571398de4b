import { mkdtempSync, rmSync, mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cgroups } from './cgroups';
import { parseCgroupLayout } from './layout';
import { CgroupPathError, containerCgroup, expandSlice, normalizeCgroupfsPath, podCgroupPath } from './paths';
import { parseCpuMax, parseFlatKeyed, parseSingle, readV1Stats, readV2Stats, weightToShares } from './stats';

const testdata = join(__dirname, 'testdata');

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 80 0:32 /kubepods /var/lib/x/memory rw,relatime - cgroup cgroup rw,memory
`;

describe('layout', () => {
  test('hybrid: v1 controllers plus a controller-less unified mount', () => {
    const l = parseCgroupLayout(HYBRID);
    expect(l.version).toBe(1);
    expect(l.controllers).toEqual({
      cpu: '/sys/fs/cgroup/cpu',
      cpuacct: '/sys/fs/cgroup/cpuacct',
      memory: '/sys/fs/cgroup/memory',
      pids: '/sys/fs/cgroup/pids',
      'name=systemd': '/sys/fs/cgroup/systemd',
    });
    expect(l.unified).toBe('/sys/fs/cgroup/unified');
    // the bind mount of a subtree is not a hierarchy root
    expect(l.hierarchies).toEqual([
      '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified',
    ]);
  });

  test('co-mounted controllers share one hierarchy', () => {
    const l = parseCgroupLayout('1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n');
    expect(l.controllers.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(l.controllers.cpuacct).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect(l.hierarchies).toHaveLength(1);
  });

  test('pure v2', () => {
    const l = parseCgroupLayout('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n');
    expect(l).toEqual({ version: 2, controllers: {}, unified: '/sys/fs/cgroup', hierarchies: ['/sys/fs/cgroup'] });
  });

  test('escaped mount points are decoded', () => {
    const l = parseCgroupLayout('1 0 0:1 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,memory\n');
    expect(l.controllers.memory).toBe('/sys/fs/cgroup/my dir');
  });
});

describe('paths', () => {
  test('systemd slices expand to nested slices', () => {
    expect(expandSlice('kubepods-burstable-pod123.slice')).toBe('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice');
    expect(expandSlice('test.slice')).toBe('/test.slice');
    expect(expandSlice('/test.slice')).toBe('/test.slice');
    expect(expandSlice('-.slice')).toBe('/');
    for (const bad of ['kubepods', 'a--b.slice', '-a.slice', 'a-.slice', 'a/b.slice', '.slice']) {
      expect(() => expandSlice(bad)).toThrow(CgroupPathError);
    }
  });

  test('cgroupfs parents are normalized and may not climb', () => {
    expect(normalizeCgroupfsPath('/kubepods/burstable/pod1/')).toBe('/kubepods/burstable/pod1');
    expect(normalizeCgroupfsPath('kubepods//x')).toBe('/kubepods/x');
    expect(normalizeCgroupfsPath('')).toBe('/');
    expect(() => normalizeCgroupfsPath('/kubepods/../etc')).toThrow(CgroupPathError);
    expect(podCgroupPath('cgroupfs', '/kubepods/pod1')).toBe('/kubepods/pod1');
    expect(podCgroupPath('systemd', 'kubepods-pod1.slice')).toBe('/kubepods.slice/kubepods-pod1.slice');
  });

  test('container cgroups per driver', () => {
    expect(containerCgroup('cgroupfs', '/kubepods/pod1', 'abc')).toEqual({ ociPath: '/kubepods/pod1/krill-abc', path: '/kubepods/pod1/krill-abc' });
    expect(containerCgroup('systemd', 'kubepods-pod1.slice', 'abc')).toEqual({
      ociPath: 'kubepods-pod1.slice:krill:abc',
      path: '/kubepods.slice/kubepods-pod1.slice/krill-abc.scope',
    });
    expect(() => containerCgroup('cgroupfs', '/x', '../y')).toThrow(CgroupPathError);
  });
});

describe('stats', () => {
  test('flat keyed and single-value files', () => {
    expect(parseFlatKeyed('a 1\nb 22\n\nbad x\n')).toEqual(new Map([['a', 1n], ['b', 22n]]));
    expect(parseSingle('max\n')).toBeUndefined();
    expect(parseSingle('42\n')).toBe(42n);
  });

  test('v2 fixture', async () => {
    const s = await readV2Stats(join(testdata, 'v2/kubepods/pod1'));
    expect(s).toEqual({
      cpu: { usageNs: 1_500_000_000n, userNs: 1_000_000_000n, systemNs: 500_000_000n },
      memory: {
        usageBytes: 104857600n,
        workingSetBytes: 104857600n - 31457280n,
        rssBytes: 52428800n,
        cacheBytes: 41943040n,
        mappedFileBytes: 4096n,
        pageFaults: 12345n,
        majorPageFaults: 67n,
        limitBytes: 268435456n,
        swapUsageBytes: 4096n,
      },
      pids: { current: 7n, limit: 1024n },
    });
  });

  test('v2: no limit, working set never negative, missing files leave parts out', async () => {
    const s = await readV2Stats(join(testdata, 'v2/unlimited'));
    expect(s.memory!.limitBytes).toBeUndefined();
    expect(s.memory!.workingSetBytes).toBe(0n);
    expect(s.pids).toBeUndefined();
    expect(await readV2Stats(join(testdata, 'v2/does-not-exist'))).toEqual({});
  });

  test('v1 fixture: the hierarchical limit counts, v1 unlimited is unlimited', async () => {
    const pod = 'kubepods/pod1';
    const s = await readV1Stats({
      cpuacct: join(testdata, 'v1/cpuacct', pod),
      memory: join(testdata, 'v1/memory', pod),
      pids: join(testdata, 'v1/pids', pod),
    });
    expect(s).toEqual({
      cpu: { usageNs: 2_000_000_000n, userNs: 1_500_000_000n, systemNs: 500_000_000n },
      memory: {
        usageBytes: 209715200n,
        workingSetBytes: 209715200n - 62914560n,
        rssBytes: 94371840n,
        cacheBytes: 104857600n,
        mappedFileBytes: 0n,
        pageFaults: 5000n,
        majorPageFaults: 3n,
        limitBytes: 536870912n,
        swapUsageBytes: 4096n,
      },
      pids: { current: 3n },
    });
  });

  test('v1 detail (the CRI metrics): CFS figures, shares, quota, failcnt, peak, OOM kills; unlimited soft limit left out', async () => {
    const pod = 'kubepods/pod1';
    const dirs = { cpuacct: join(testdata, 'v1/cpuacct', pod), cpu: join(testdata, 'v1/cpu', pod), memory: join(testdata, 'v1/memory', pod) };
    expect((await readV1Stats(dirs)).detail).toBeUndefined();
    expect((await readV1Stats(dirs, true)).detail).toEqual({
      cpuPeriods: 120n,
      cpuThrottledPeriods: 7n,
      cpuThrottledNs: 350_000_000n,
      cpuShares: 512n,
      cpuQuotaUs: 50_000n,
      cpuPeriodUs: 100_000n,
      memoryFailcnt: 2n,
      memoryMaxUsageBytes: 230686720n,
      oomKills: 1n,
    });
  });

  test('v2 detail: cpu.stat throttling, cpu.max, cpu.weight as shares, memory.events, memory.peak, memory.low', async () => {
    const s = await readV2Stats(join(testdata, 'v2/kubepods/pod1'), true);
    expect(s.detail).toEqual({
      cpuPeriods: 40n,
      cpuThrottledPeriods: 4n,
      cpuThrottledNs: 25_000_000n,
      cpuShares: 2597n,
      cpuPeriodUs: 100_000n,
      memoryFailcnt: 3n,
      memoryMaxUsageBytes: 120000000n,
      memoryReservationBytes: 67108864n,
      oomKills: 1n,
    });
    expect((await readV2Stats(join(testdata, 'v2/unlimited'), true)).detail).toEqual({});
  });

  test('cpu.max and cpu.weight', () => {
    expect(parseCpuMax('50000 100000\n')).toEqual({ quotaUs: 50000n, periodUs: 100000n });
    expect(parseCpuMax('max 100000\n')).toEqual({ periodUs: 100000n });
    expect(parseCpuMax('')).toEqual({});
    // cAdvisor's mapping, the inverse of runc's: 1 → 2, 39 (runc's weight for 1024 shares) → 998, 10000 → 262144
    expect(weightToShares(1n)).toBe(2n);
    expect(weightToShares(39n)).toBe(998n);
    expect(weightToShares(100n)).toBe(2597n);
    expect(weightToShares(10000n)).toBe(262144n);
  });
});

describe('Cgroups over a fake hierarchy', () => {
  let root: string;
  let cg: Cgroups;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'krill-cg-'));
    for (const h of ['cpuset', 'memory', 'unified']) mkdirSync(join(root, h));
    writeFileSync(join(root, 'cpuset', 'cpuset.cpus'), '0-1\n');
    writeFileSync(join(root, 'cpuset', 'cpuset.mems'), '0\n');
    cg = new Cgroups(
      {
        version: 1,
        controllers: { cpuset: join(root, 'cpuset'), memory: join(root, 'memory') },
        unified: join(root, 'unified'),
        hierarchies: [join(root, 'cpuset'), join(root, 'memory'), join(root, 'unified')],
      },
      'cgroupfs',
    );
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('ensure creates in every hierarchy and reports what it created', async () => {
    mkdirSync(join(root, 'memory', 'a'));
    expect(await cg.ensure('/a/b')).toEqual(['/a', '/a/b']);
    for (const h of ['cpuset', 'memory', 'unified']) expect(existsSync(join(root, h, 'a', 'b'))).toBe(true);
    expect(await cg.ensure('/a/b')).toEqual([]);
    expect(await cg.exists('/a/b')).toBe(true);
  });

  test('removeIfEmpty leaves a cgroup with children and removes an empty one', async () => {
    mkdirSync(join(root, 'memory', 'x', 'child'), { recursive: true });
    expect(await cg.removeIfEmpty('/x')).toBe(false);
    expect(existsSync(join(root, 'memory', 'x'))).toBe(true);
    expect(await cg.removeIfEmpty('/x/child')).toBe(true);
    expect(await cg.removeIfEmpty('/x')).toBe(true);
    expect(await cg.removeIfEmpty('/never')).toBe(true);
  });

  test('procs walks the subtree', async () => {
    mkdirSync(join(root, 'memory', 'p', 'c1'), { recursive: true });
    writeFileSync(join(root, 'memory', 'p', 'cgroup.procs'), '10\n');
    writeFileSync(join(root, 'memory', 'p', 'c1', 'cgroup.procs'), '11\n12\n');
    expect((await cg.procs('/p')).sort()).toEqual([10, 11, 12]);
  });

  test('v2: each new level gets its parent\'s controllers delegated', async () => {
    const v2 = new Cgroups({ version: 2, controllers: {}, unified: join(root, 'unified'), hierarchies: [join(root, 'unified')] }, 'cgroupfs');
    writeFileSync(join(root, 'unified', 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(root, 'unified', 'cgroup.subtree_control'), '');
    expect(await v2.ensure('/kubepods/pod1')).toEqual(['/kubepods', '/kubepods/pod1']);
    expect(readFileSync(join(root, 'unified', 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory +pids');
  });

  test('systemd driver creates nothing', async () => {
    const sd = new Cgroups(cg.layout, 'systemd');
    expect(await sd.ensure('/kubepods.slice')).toEqual([]);
    expect(existsSync(join(root, 'memory', 'kubepods.slice'))).toBe(false);
    expect(readFileSync(join(root, 'cpuset', 'cpuset.cpus'), 'utf8')).toBe('0-1\n');
  });
});
