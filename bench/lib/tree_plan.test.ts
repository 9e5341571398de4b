import { posix } from 'node:path';
import { IMAGES, LINKS_XATTRS, MANY_FILES, imageSpec, layerStats, planImage, sumStats, type Entry, type LayerPlan } from './tree_plan';

const MiB = 1024 * 1024;
const totals = (plan: LayerPlan[]) => sumStats(plan.map((l) => layerStats(l.entries)));

describe('the bench images\' plans', () => {
  test('the same spec always expands to the same entries', () => {
    for (const spec of IMAGES) expect(JSON.stringify(planImage(spec))).toBe(JSON.stringify(planImage(spec)));
  });

  test('many-files is shaped like a language-runtime image', () => {
    const plan = planImage(MANY_FILES);
    expect(plan).toHaveLength(6);
    const t = totals(plan);
    expect(t.files).toBeGreaterThan(17_000);
    expect(t.files).toBeLessThan(19_000);
    expect(t.dirs).toBeGreaterThan(300);
    expect(t.dirs).toBeLessThan(700);
    expect(t.gzipEstimate / MiB).toBeGreaterThan(115);
    expect(t.gzipEstimate / MiB).toBeLessThan(130);
    const files = plan.flatMap((l) => l.entries).filter((e): e is Extract<Entry, { type: 'file' }> => e.type === 'file');
    // A few big binaries, and mostly small files.
    expect(files.filter((f) => f.size >= 4 * MiB).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.size <= 16 * 1024).length / files.length).toBeGreaterThan(0.75);
    expect(new Set(files.map((f) => f.kind))).toEqual(new Set(['text', 'binary', 'random']));
    expect(files.some((f) => f.owner?.uid === 1000)).toBe(true);
  });

  test('links-xattrs has thousands of hard links, user.* xattrs and file capabilities', () => {
    const plan = planImage(LINKS_XATTRS);
    expect(plan).toHaveLength(3);
    const t = totals(plan);
    expect(t.hardlinks).toBeGreaterThanOrEqual(3000);
    expect(t.files).toBeGreaterThan(2000);
    expect(t.xattrFiles).toBeGreaterThan(500);
    const caps = plan.flatMap((l) => l.entries).flatMap((e) => (e.type === 'file' && e.cap ? [e.cap] : []));
    expect(caps).toContain('cap_net_bind_service+ep');
    const xattrs = plan.flatMap((l) => l.entries).flatMap((e) => (e.type === 'file' ? (e.xattrs ?? []) : []));
    expect(xattrs.every(([n, v]) => n.startsWith('user.') && /^[\x20-\x7e]+$/.test(v))).toBe(true);
  });

  test.each(IMAGES.map((s) => s.name))('%s: paths unique, parents made first, links to files of their own layer', (name) => {
    const plan = planImage(imageSpec(name));
    const dirs = new Set(['/']);
    const seen = new Set<string>();
    for (const layer of plan) {
      const filesHere = new Set<string>();
      for (const e of layer.entries) {
        expect(seen.has(e.path)).toBe(false);
        seen.add(e.path);
        expect(dirs.has(posix.dirname(e.path))).toBe(true);
        if (e.type === 'dir') dirs.add(e.path);
        if (e.type === 'file') filesHere.add(e.path);
        // A tar hard link names an earlier entry of the same layer.
        if (e.type === 'hardlink') expect(filesHere.has(e.target)).toBe(true);
        if (e.type === 'symlink') expect(filesHere.has(posix.join(posix.dirname(e.path), e.target))).toBe(true);
      }
    }
  });

  test('layerStats counts entries and estimates the gzip\'d size from each kind\'s ratio', () => {
    const s = layerStats([
      { type: 'dir', path: '/a', mode: 0o755 },
      { type: 'file', path: '/a/t', size: 3650, kind: 'text', mode: 0o644, xattrs: [['user.x', '1']] },
      { type: 'file', path: '/a/r', size: 1000, kind: 'random', mode: 0o755, cap: 'cap_net_raw+ep' },
      { type: 'symlink', path: '/a/s', target: 't' },
      { type: 'hardlink', path: '/a/h', target: '/a/t' },
    ]);
    expect(s).toEqual({ files: 2, dirs: 1, symlinks: 1, hardlinks: 1, xattrFiles: 1, capFiles: 1, bytes: 4650, gzipEstimate: 5 * 60 + 1000 + 1000 });
    expect(sumStats([s, s]).files).toBe(4);
  });

  test('an unknown image is refused', () => {
    expect(() => imageSpec('nope')).toThrow('no bench image nope');
  });
});
