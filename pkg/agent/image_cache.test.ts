import { afterPull, afterPullError, cachedImages, digestOf, nodeEntries, parseImageCache, pinDropin, pullDue, selectsNode, type ImageState } from './image_cache';

const cache = (name: string, images: string[], matchLabels: Record<string, string> = {}) => ({ name, images, matchLabels });

test('parseImageCache reads spec.images and spec.nodeSelector.matchLabels', () => {
  expect(parseImageCache({ metadata: { name: 'c' }, spec: { images: ['a:1', ' ', 3, 'b:2 '], nodeSelector: { matchLabels: { role: 'gpu', n: 1 } } } })).toEqual(
    cache('c', ['a:1', 'b:2'], { role: 'gpu' }),
  );
  expect(parseImageCache({ metadata: { name: 'c' }, spec: {} })).toBeUndefined();
});

test('node selection: matchLabels all equal; empty selects every node', () => {
  expect(selectsNode(cache('c', [], { role: 'gpu' }), { role: 'gpu', x: 'y' })).toBe(true);
  expect(selectsNode(cache('c', [], { role: 'gpu' }), { role: 'cpu' })).toBe(false);
  expect(selectsNode(cache('c', []), {})).toBe(true);
});

test('the images of every selecting cache, once each, sorted', () => {
  const caches = [cache('a', ['z:1', 'b:1']), cache('b', ['b:1', 'c:1'], { role: 'gpu' }), cache('c', ['d:1'], { role: 'cpu' })];
  expect(cachedImages(caches, { role: 'gpu' })).toEqual(['b:1', 'c:1', 'z:1']);
});

test('the pin drop-in lists them under [image] pinned_images; none: no drop-in', () => {
  expect(pinDropin(['127.0.0.1:5055/busybox:1', 'docker.io/library/"odd"'])).toBe(
    '# Written by krill-agent from the ImageCache objects that select this node; edits here are overwritten.\n[image]\npinned_images = [\n  "127.0.0.1:5055/busybox:1",\n  "docker.io/library/\\"odd\\"",\n]\n',
  );
  expect(pinDropin([])).toBeNull();
});

describe('pulls', () => {
  const ok: ImageState = { digest: 'sha256:a', pulled: true, error: '', lastPulled: '2026-01-01T00:00:00Z', lastAttempt: 0 };

  test('due: never pulled, resolve interval passed, or retry delay after an error', () => {
    expect(pullDue(undefined, 0, 600, 30)).toBe(true);
    expect(pullDue(ok, 599_000, 600, 30)).toBe(false);
    expect(pullDue(ok, 600_000, 600, 30)).toBe(true);
    expect(pullDue({ ...ok, error: 'x' }, 30_000, 600, 30)).toBe(true);
    expect(pullDue({ ...ok, error: 'x' }, 29_000, 600, 30)).toBe(false);
  });

  test('lastPulled moves only when the digest changed', () => {
    expect(afterPull(ok, 'sha256:a', 1_000_000)).toEqual({ ...ok, lastAttempt: 1_000_000 });
    expect(afterPull(ok, 'sha256:b', 1_000_000)).toEqual({ digest: 'sha256:b', pulled: true, error: '', lastPulled: '1970-01-01T00:16:40Z', lastAttempt: 1_000_000 });
    expect(afterPull(undefined, 'sha256:a', 0).lastPulled).toBe('1970-01-01T00:00:00Z');
  });

  test('an error keeps what was pulled before', () => {
    expect(afterPullError(ok, 'registry down', 5)).toEqual({ ...ok, error: 'registry down', lastAttempt: 5 });
    expect(afterPullError(undefined, 'nope', 5)).toEqual({ digest: '', pulled: false, error: 'nope', lastPulled: '', lastAttempt: 5 });
  });
});

test("this node's status entries, one per image of the cache", () => {
  const states = new Map<string, ImageState>([['a:1', { digest: 'sha256:a', pulled: true, error: '', lastPulled: 't', lastAttempt: 0 }]]);
  expect(nodeEntries('n1', cache('c', ['a:1', 'b:1']), states)).toEqual([
    { node: 'n1', image: 'a:1', digest: 'sha256:a', pulled: true, error: '', lastPulled: 't' },
    { node: 'n1', image: 'b:1', digest: '', pulled: false, error: '', lastPulled: '' },
  ]);
});

test('digestOf prefers the repo digest of the same repository', () => {
  expect(digestOf('127.0.0.1:5055/busybox:1', ['127.0.0.1:5055/other@sha256:x', '127.0.0.1:5055/busybox@sha256:y'], 'sha256:id')).toBe('sha256:y');
  expect(digestOf('busybox', ['docker.io/library/busybox@sha256:z'], 'sha256:id')).toBe('sha256:z');
  expect(digestOf('busybox', [], 'sha256:id')).toBe('sha256:id');
});
