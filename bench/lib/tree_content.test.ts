import { gzipSync } from 'node:zlib';
import { ContentMaker, GZIP_RATIO, type ContentKind } from './tree_content';

const KINDS: ContentKind[] = ['text', 'binary', 'random'];

describe('ContentMaker', () => {
  const maker = new ContentMaker('test-image');

  test.each(KINDS)('%s: exactly the size asked for, the same bytes for the same path', (kind) => {
    for (const size of [0, 1, 7, 4096, 100_003]) {
      const a = maker.make(kind, size, '/a/file');
      expect(a.length).toBe(size);
      expect(new ContentMaker('test-image').make(kind, size, '/a/file')).toEqual(a);
    }
    expect(maker.make(kind, 4096, '/a/other')).not.toEqual(maker.make(kind, 4096, '/a/file'));
  });

  test('text is printable lines', () => {
    const t = maker.make('text', 50_000, '/src/x.js').toString('latin1');
    expect(t).toMatch(/^[\x20-\x7e\n]*$/);
    expect(t.split('\n').length).toBeGreaterThan(500);
  });

  // zlib level 6 compresses 5-10 % better than umoci's gzip, for which GZIP_RATIO is set.
  test.each(KINDS)('%s compresses with gzip about as GZIP_RATIO says', (kind) => {
    let raw = 0;
    let gz = 0;
    for (let i = 0; i < 4; i++) {
      const b = maker.make(kind, 512 * 1024, `/ratio/${i}`);
      raw += b.length;
      gz += gzipSync(b, { level: 6 }).length;
    }
    const r = raw / gz / GZIP_RATIO[kind];
    expect(r).toBeGreaterThan(0.97);
    expect(r).toBeLessThan(1.15);
  });
});
