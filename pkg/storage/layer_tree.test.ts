import { LayerTree, parentKey } from './layer_tree';
import { LayerLimitError } from './unpack_limits';

const keys = (t: LayerTree): string[] => [...t.entries()].map(([k]) => k).sort();

test('parent keys', () => {
  expect(parentKey('a/b/c')).toBe('a/b');
  expect(parentKey('a')).toBe('');
});

test('nodes go under directories only; removing one removes its subtree and nothing else', () => {
  const t = new LayerTree(1024);
  t.add('a', { kind: 'dir' });
  t.add('a/b', { kind: 'dir' });
  t.add('a/b/f', { kind: 'file' });
  t.add('a/bb', { kind: 'file' });
  t.add('ab', { kind: 'file' });
  expect(() => t.add('a/bb/x', { kind: 'file' })).toThrow('cannot add');
  expect(() => t.add('missing/x', { kind: 'file' })).toThrow('cannot add');
  expect(() => t.add('a/b', { kind: 'file' })).toThrow('cannot add');

  expect(t.remove('a/b').map(([k]) => k)).toEqual(['a/b', 'a/b/f']);
  // "a/bb" and "ab" share a prefix with what went, not a parent.
  expect(keys(t)).toEqual(['', 'a', 'a/bb', 'ab']);
  expect(t.children('a')).toEqual(['a/bb']);
  expect(t.remove('a/b')).toEqual([]);
  expect(t.remove('')).toEqual([]);
  t.add('a/b', { kind: 'file' });
  expect(t.remove('a').map(([k]) => k).sort()).toEqual(['a', 'a/b', 'a/bb']);
  expect(keys(t)).toEqual(['', 'ab']);
});

test('removal costs what it removes: many replacements of one path stay linear', () => {
  const t = new LayerTree(1024);
  for (let i = 0; i < 10_000; i++) t.add(`base${i}`, { kind: 'file' });
  for (let i = 0; i < 100_000; i++) {
    t.remove('same');
    t.add('same', { kind: 'file' });
  }
  expect(t.children('')).toHaveLength(10_001);
});

test('xattrs kept by the layer are bounded, and freed with their node', () => {
  const t = new LayerTree(100);
  const x = (n: number): Map<string, Buffer> => new Map([['user.k', Buffer.alloc(n - 6)]]);
  const a = t.add('a', { kind: 'file' });
  const b = t.add('b', { kind: 'file' });
  t.setXattrs('a', a, x(60));
  t.setXattrs('a', a, x(60)); // replaces, does not add
  expect(() => t.setXattrs('b', b, x(41))).toThrow(LayerLimitError);
  expect(() => t.setXattrs('b', b, x(41))).toThrow('has more than 100 bytes of extended attributes (at entry "b")');
  t.setXattrs('b', b, x(40));
  t.remove('a');
  t.setXattrs('b', b, x(100));
});
