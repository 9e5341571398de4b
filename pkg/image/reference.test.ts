import { formatReference, isFullImageId, looksLikeIdPrefix, parseReference, ReferenceError, repoTag } from './reference';

const norm = (s: string): string => formatReference(parseReference(s));

test('Docker normalization: docker.io, library/ and latest', () => {
  expect(norm('busybox')).toBe('docker.io/library/busybox:latest');
  expect(norm('busybox:1.36')).toBe('docker.io/library/busybox:1.36');
  expect(norm('library/busybox')).toBe('docker.io/library/busybox:latest');
  expect(norm('docker.io/busybox')).toBe('docker.io/library/busybox:latest');
  expect(norm('index.docker.io/busybox')).toBe('docker.io/library/busybox:latest');
  expect(norm('someone/app')).toBe('docker.io/someone/app:latest');
  expect(norm('registry.k8s.io/pause:3.10')).toBe('registry.k8s.io/pause:3.10');
  expect(norm('localhost/app')).toBe('localhost/app:latest');
  expect(norm('127.0.0.1:5055/krill-test/layered')).toBe('127.0.0.1:5055/krill-test/layered:latest');
  expect(norm('[::1]:5000/a/b:c')).toBe('[::1]:5000/a/b:c');
});

test('digests, and tag plus digest', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  const r = parseReference(`busybox@${d}`);
  expect(r.tag).toBeUndefined();
  expect(r.digest).toBe(d);
  expect(repoTag(r)).toBeUndefined();
  expect(norm(`quay.io/x/y:v1@${d}`)).toBe(`quay.io/x/y:v1@${d}`);
  expect(parseReference(`quay.io/x/y:v1@${d}`).tagGiven).toBe(true);
  expect(parseReference('quay.io/x/y').tagGiven).toBe(false);
});

test('a port is not a tag', () => {
  const r = parseReference('host:5000/app');
  expect(r.domain).toBe('host:5000');
  expect(r.tag).toBe('latest');
});

test.each([
  ['', 'empty'],
  ['Busybox', 'lowercase'],
  ['busybox:', 'invalid tag'],
  ['busybox:bad tag', 'invalid tag'],
  ['busybox@sha256:xyz', 'invalid digest'],
  ['a'.repeat(64), 'image ID'],
  ['-bad.com/x', 'invalid registry host'],
  ['-bad/x', 'invalid repository path'],
  ['docker.io/a//b', 'invalid repository path'],
  [' busybox', 'whitespace'],
  ['x/' + 'a'.repeat(300), 'longer than'],
])('%j is refused (%s)', (text, why) => {
  expect(() => parseReference(text)).toThrow(ReferenceError);
  expect(() => parseReference(text)).toThrow(why);
});

test('image IDs and prefixes', () => {
  const hex = 'f'.repeat(64);
  expect(isFullImageId(hex)).toBe(true);
  expect(isFullImageId(`sha256:${hex}`)).toBe(true);
  expect(isFullImageId('abc')).toBe(false);
  expect(looksLikeIdPrefix('abc123')).toBe(true);
  expect(looksLikeIdPrefix('sha256:abc')).toBe(true);
  expect(looksLikeIdPrefix('busybox')).toBe(false);
});
