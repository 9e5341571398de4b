import { deviceNumbers, hostDeviceFromStat, hugepageSizeName, kernelAtLeast, propagationFromMountinfo } from './host_facts';

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '30 22 0:26 / /sys rw,nosuid shared:7 - sysfs sysfs rw',
  '40 22 0:30 / /mnt/shared rw shared:12 - tmpfs t rw',
  '41 40 0:31 / /mnt/shared/slave rw master:12 - tmpfs t rw',
  '42 22 0:32 / /mnt/both rw shared:14 master:12 - tmpfs t rw',
  '43 22 0:33 / /mnt/with\\040space rw shared:15 - tmpfs t rw',
  '44 22 0:34 / /mnt/stack rw shared:16 - tmpfs t rw',
  '45 44 0:35 / /mnt/stack rw - tmpfs t rw',
  '',
].join('\n');

test('propagation of the mount holding a path', () => {
  expect(propagationFromMountinfo(MOUNTINFO, '/var/lib/x')).toBe('private');
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/shared')).toBe('shared');
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/shared/dir/f')).toBe('shared');
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/shared/slave/x')).toBe('slave');
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/sharedx')).toBe('private');
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/both')).toBe('shared');
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/with space/a')).toBe('shared');
  // The last mount stacked on a mount point is the one in effect.
  expect(propagationFromMountinfo(MOUNTINFO, '/mnt/stack/a')).toBe('private');
  expect(propagationFromMountinfo('', '/x')).toBe('private');
});

test('dev_t splits into major and minor, large numbers included', () => {
  expect(deviceNumbers(0x0103)).toEqual({ major: 1, minor: 3 });
  expect(deviceNumbers(0xa00 | 229)).toEqual({ major: 10, minor: 229 });
  // major 259, minor 0x12345 (NVMe-style large numbers)
  expect(deviceNumbers((0x12345n & 0xffn) | ((259n & 0xfffn) << 8n) | ((0x12345n & ~0xffn) << 12n))).toEqual({ major: 259, minor: 0x12345 });
});

test('device nodes from stat results', () => {
  expect(hostDeviceFromStat('/dev/null', { mode: 0o020666, rdev: 0x103, uid: 0, gid: 0 })).toEqual({ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 });
  expect(hostDeviceFromStat('/dev/sda', { mode: 0o060660, rdev: 0x800, uid: 0, gid: 6 })).toMatchObject({ type: 'b', major: 8, minor: 0, gid: 6 });
  expect(hostDeviceFromStat('/run/fifo', { mode: 0o010600, rdev: 0, uid: 0, gid: 0 })).toMatchObject({ type: 'p', major: 0, minor: 0 });
  expect(hostDeviceFromStat('/etc/passwd', { mode: 0o100644, rdev: 0, uid: 0, gid: 0 })).toBeUndefined();
  expect(hostDeviceFromStat('/dev', { mode: 0o040755, rdev: 0, uid: 0, gid: 0 })).toBeUndefined();
});

test('huge page size names as cgroups and kubelet write them', () => {
  expect(hugepageSizeName('hugepages-2048kB')).toBe('2MB');
  expect(hugepageSizeName('hugepages-1048576kB')).toBe('1GB');
  expect(hugepageSizeName('hugepages-64kB')).toBe('64KB');
  expect(hugepageSizeName('hugepages-32768kB')).toBe('32MB');
  expect(hugepageSizeName('hugepages-16777216kB')).toBe('16GB');
  expect(hugepageSizeName('nr_hugepages')).toBeUndefined();
});

test('kernel release comparison (rro needs 5.12)', () => {
  expect(kernelAtLeast('6.18.44-fc-v595', '5.12')).toBe(true);
  expect(kernelAtLeast('5.12.0', '5.12')).toBe(true);
  expect(kernelAtLeast('5.11.22-generic', '5.12')).toBe(false);
  expect(kernelAtLeast('4.19', '4.8')).toBe(true);
  expect(kernelAtLeast('4.4.0', '4.8')).toBe(false);
});
