import { PinnedImages, pinnedPatternProblem } from './pinned';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

function image(repoTags: string[], repoDigests: string[] = []): { repoTags: string[]; repoDigests: string[] } {
  return { repoTags, repoDigests };
}

describe('PinnedImages', () => {
  test('an exact reference is normalized as pulls are', () => {
    const pinned = new PinnedImages(['busybox']);
    expect(pinned.matches(image(['docker.io/library/busybox:latest']))).toBe(true);
    expect(pinned.matches(image(['docker.io/library/busybox:1.36']))).toBe(false);
    expect(pinned.matches(image(['docker.io/library/busyboxx:latest']))).toBe(false);
  });

  test('a tag matches that repo tag among several', () => {
    const pinned = new PinnedImages(['registry.k8s.io/pause:3.10']);
    expect(pinned.matches(image(['example.com/x:1', 'registry.k8s.io/pause:3.10']))).toBe(true);
    expect(pinned.matches(image(['registry.k8s.io/pause:3.9']))).toBe(false);
  });

  test('a digest reference matches the repo digest, not the tag', () => {
    const pinned = new PinnedImages([`quay.io/org/app@${DIGEST}`]);
    expect(pinned.matches(image([], [`quay.io/org/app@${DIGEST}`]))).toBe(true);
    expect(pinned.matches(image(['quay.io/org/app:latest'], [`quay.io/org/app@${OTHER}`]))).toBe(false);
    expect(pinned.matches(image([], [`quay.io/org/other@${DIGEST}`]))).toBe(false);
  });

  test('a prefix ending in * matches tags and digests that start with it', () => {
    const pinned = new PinnedImages(['127.0.0.1:5055/krill-test/*']);
    expect(pinned.matches(image(['127.0.0.1:5055/krill-test/busybox:1']))).toBe(true);
    expect(pinned.matches(image([], [`127.0.0.1:5055/krill-test/alpine@${DIGEST}`]))).toBe(true);
    expect(pinned.matches(image(['127.0.0.1:5055/other/busybox:1']))).toBe(false);
  });

  test('no entries pin nothing; invalid entries are reported and ignored', () => {
    expect(new PinnedImages([]).matches(image(['docker.io/library/busybox:latest']))).toBe(false);
    const bad: string[] = [];
    const pinned = new PinnedImages(['Not A Ref', 'busybox'], (entry) => bad.push(entry));
    expect(bad).toEqual(['Not A Ref']);
    expect(pinned.matches(image(['docker.io/library/busybox:latest']))).toBe(true);
  });
});

test('pinnedPatternProblem names what is wrong', () => {
  expect(pinnedPatternProblem('busybox')).toBeUndefined();
  expect(pinnedPatternProblem('docker.io/library/*')).toBeUndefined();
  expect(pinnedPatternProblem('*')).toBe('a prefix before the "*"');
  expect(pinnedPatternProblem('a*b*')).toBe('"*" only at the end');
  expect(pinnedPatternProblem('Busybox')).toBe('repository name must be lowercase');
  expect(pinnedPatternProblem('')).toBe('empty reference');
});
