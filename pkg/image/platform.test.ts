import { formatPlatform, hostPlatform, normalizePlatform, platformRank } from './platform';

test('normalization', () => {
  expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64' });
  expect(normalizePlatform({ os: 'linux', architecture: 'aarch64' })).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  expect(normalizePlatform({ os: 'linux', architecture: 'armhf' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
  expect(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '6' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
});

test('matching and ranking', () => {
  const amd64 = { os: 'linux', architecture: 'amd64' };
  expect(platformRank(amd64, { os: 'linux', architecture: 'amd64' })).toBe(0);
  expect(platformRank(amd64, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBeUndefined();
  expect(platformRank(amd64, { os: 'windows', architecture: 'amd64' })).toBeUndefined();
  const arm64 = { os: 'linux', architecture: 'arm64' };
  expect(platformRank(arm64, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(0);
  expect(platformRank(arm64, { os: 'linux', architecture: 'arm64' })).toBe(0);
  const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
  expect(platformRank(armv7, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(0);
  expect(platformRank(armv7, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(1);
  expect(platformRank(armv7, { os: 'linux', architecture: 'arm', variant: 'v8' })).toBeUndefined();
});

test('the host platform is normalized', () => {
  const h = hostPlatform();
  expect(h.os).toBe('linux');
  expect(['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64']).toContain(h.architecture);
  expect(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64/v8');
});
