import { LinuxContainerResources, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { buildResources, type ResourceInput } from './resources';

const F = 'config.linux.resources';
const base: Omit<ResourceInput, 'resources'> = {
  field: F,
  cgroupVersion: 1,
  swapAccounting: true,
  hugepageSizes: ['2MB', '1GB'],
  oomScoreAdjFloor: 0,
};
const build = (r: DeepPartial<LinuxContainerResources> | undefined, over: Partial<ResourceInput> = {}) =>
  buildResources({ ...base, resources: r === undefined ? undefined : LinuxContainerResources.fromPartial(r), ...over });

test('nothing requested: nothing limited, oom_score_adj at the floor', () => {
  expect(build(undefined)).toEqual({ oomScoreAdj: 0 });
  expect(build({})).toEqual({ oomScoreAdj: 0 });
  expect(build(undefined, { oomScoreAdjFloor: -500 })).toEqual({ oomScoreAdj: -500 });
});

test('cpu shares, quota, period, cpuset cpus and mems', () => {
  const r = build({ cpuShares: 512n, cpuQuota: 50000n, cpuPeriod: 100000n, cpusetCpus: '0-1,3', cpusetMems: '0' });
  expect(r.cpu).toEqual({ shares: 512, quota: 50000, period: 100000, cpus: '0-1,3', mems: '0' });
  expect(build({ cpuQuota: -1n }).cpu).toEqual({ quota: -1 });
});

test('bad cpu values name the field', () => {
  expect(invalid(() => build({ cpuShares: -2n }))).toBe(`${F}.cpu_shares -2 is out of range`);
  expect(invalid(() => build({ cpuQuota: 500n }))).toMatch(/cpu_quota 500 is below/);
  expect(invalid(() => build({ cpuQuota: -5n }))).toMatch(/cpu_quota -5 is out of range/);
  expect(invalid(() => build({ cpuPeriod: 10n }))).toMatch(/cpu_period 10/);
  expect(invalid(() => build({ cpusetCpus: '0-a' }))).toMatch(/cpuset_cpus "0-a"/);
  expect(invalid(() => build({ cpusetCpus: '3-1' }))).toMatch(/descending range 3-1/);
  expect(invalid(() => build({ cpusetMems: ',' }))).toMatch(/cpuset_mems/);
});

test('memory limit; swap equal to it unless asked (no swapping by default)', () => {
  expect(build({ memoryLimitInBytes: 64n << 20n }).memory).toEqual({ limit: 64 << 20, swap: 64 << 20 });
  expect(build({ memoryLimitInBytes: 100n, memorySwapLimitInBytes: 300n }).memory).toEqual({ limit: 100, swap: 300 });
  expect(build({ memoryLimitInBytes: 100n, memorySwapLimitInBytes: -1n }).memory).toEqual({ limit: 100, swap: -1 });
});

test('without swap accounting the swap limit is left out', () => {
  expect(build({ memoryLimitInBytes: 100n }, { swapAccounting: false }).memory).toEqual({ limit: 100 });
  expect(build({ memoryLimitInBytes: 100n, memorySwapLimitInBytes: 200n }, { swapAccounting: false }).memory).toEqual({ limit: 100 });
});

test('inconsistent memory values are refused', () => {
  expect(invalid(() => build({ memoryLimitInBytes: 200n, memorySwapLimitInBytes: 100n }))).toMatch(/memory_swap_limit_in_bytes 100 is below memory_limit_in_bytes 200/);
  expect(invalid(() => build({ memorySwapLimitInBytes: 100n }))).toMatch(/memory_swap_limit_in_bytes needs memory_limit_in_bytes/);
  expect(invalid(() => build({ memoryLimitInBytes: -5n }))).toMatch(/memory_limit_in_bytes -5/);
});

test('hugepage limits for the sizes the node has; others are dropped', () => {
  const r = build({ hugepageLimits: [{ pageSize: '2MB', limit: 4n << 20n }, { pageSize: '1GB', limit: 0n }, { pageSize: '64KB', limit: 1n }] });
  expect(r.hugepageLimits).toEqual([{ pageSize: '2MB', limit: 4 << 20 }, { pageSize: '1GB', limit: 0 }]);
  expect(build({ hugepageLimits: [{ pageSize: '2MB', limit: 1n }] }, { hugepageSizes: [] }).hugepageLimits).toBeUndefined();
  expect(invalid(() => build({ hugepageLimits: [{ pageSize: '2M', limit: 1n }] }))).toMatch(/hugepage_limits\[0\]\.page_size "2M"/);
});

test('unified keys on cgroup v2; refused on v1', () => {
  expect(build({ unified: { 'memory.high': '1000000', 'cpu.weight': '50' } }, { cgroupVersion: 2 }).unified).toEqual({ 'memory.high': '1000000', 'cpu.weight': '50' });
  expect(invalid(() => build({ unified: { 'memory.high': '1' } }))).toMatch(/unified needs cgroup v2/);
  expect(invalid(() => build({ unified: { '../etc': '1' } }, { cgroupVersion: 2 }))).toMatch(/unified key "..\/etc"/);
  expect(invalid(() => build({ unified: { 'memory.high': '1\n2' } }, { cgroupVersion: 2 }))).toMatch(/newline/);
});

test('oom_score_adj is clamped to krilld\'s own and range-checked', () => {
  expect(build({ oomScoreAdj: 1000n }).oomScoreAdj).toBe(1000);
  expect(build({ oomScoreAdj: -997n }).oomScoreAdj).toBe(0);
  expect(build({ oomScoreAdj: -997n }, { oomScoreAdjFloor: -999 }).oomScoreAdj).toBe(-997);
  expect(build({ oomScoreAdj: 500n }, { oomScoreAdjFloor: 600 }).oomScoreAdj).toBe(600);
  expect(invalid(() => build({ oomScoreAdj: 1001n }))).toMatch(/oom_score_adj 1001 is out of range/);
});

test('a pids limit from the options', () => {
  expect(build(undefined, { pidsLimit: 4096 }).pids).toEqual({ limit: 4096 });
  expect(build(undefined, { pidsLimit: 0 }).pids).toBeUndefined();
});

