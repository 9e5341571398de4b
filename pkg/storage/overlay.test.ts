import { overlayOptions, shortLinkName, MOUNT_DATA_LIMIT } from './overlay';

const layer = (i: number) => `/var/lib/krill/layers/${i.toString(16).padStart(64, '0')}/diff`;

test('short link names are stable and short', () => {
  expect(shortLinkName(layer(1))).toBe(shortLinkName(layer(1)));
  expect(shortLinkName(layer(1))).not.toBe(shortLinkName(layer(2)));
  expect(shortLinkName(layer(1))).toMatch(/^[0-9a-f]{12}$/);
});

test('options keep the order given (topmost first) and add upper and work', () => {
  const opts = overlayOptions({ lowerDirs: [layer(2), layer(1)], upperDir: '/c/upper', workDir: '/c/work' });
  expect(opts).toEqual([`lowerdir=l/${shortLinkName(layer(2))}:l/${shortLinkName(layer(1))}`, 'upperdir=/c/upper', 'workdir=/c/work']);
});

test('200 layers fit in one page; absolute paths would not', () => {
  const lowerDirs = Array.from({ length: 200 }, (_, i) => layer(i));
  const opts = overlayOptions({ lowerDirs, upperDir: '/var/lib/krill/containers/x/upper', workDir: '/var/lib/krill/containers/x/work' });
  expect(opts.join(',').length).toBeLessThanOrEqual(MOUNT_DATA_LIMIT);
  expect(lowerDirs.join(':').length).toBeGreaterThan(MOUNT_DATA_LIMIT);
});

test('too many layers is a clear error, and no layers is one too', () => {
  expect(() => overlayOptions({ lowerDirs: Array.from({ length: 400 }, (_, i) => layer(i)) })).toThrow(/400 layers need \d+ bytes/);
  expect(() => overlayOptions({ lowerDirs: [] })).toThrow(/at least one/);
});
