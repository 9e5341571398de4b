// The layer unpacker on a real filesystem (as root: owners, devices, xattrs),
// with hand-made archives for the cases test images do not carry.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTar, type TarBuildEntry } from '../pkg/storage/tar_build';
import { unpackLayer, type UnpackResult } from '../pkg/storage/unpack';
import { LayerLimitError, type UnpackLimits } from '../pkg/storage/unpack_limits';
import { testBaseDir } from './harness/paths';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(testBaseDir(), 'unpack-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
async function unpack(entries: TarBuildEntry[], warnings: string[] = [], limits?: UnpackLimits): Promise<{ dir: string; result: UnpackResult }> {
  const dir = join(base, `l${n++}`);
  mkdirSync(dir, { mode: 0o755 });
  const tar = buildTar(entries);
  const chunk = tar.length > 1 << 20 ? 64 * 1024 : 1000;
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < tar.length; i += chunk) yield tar.subarray(i, i + chunk);
  }
  const result = await unpackLayer(source(), dir, { onXattrWarning: (m) => warnings.push(m), ...(limits ? { limits } : {}) });
  return { dir, result };
}

const xattr = (path: string, name: string): string =>
  execFileSync('getfattr', ['-h', '--absolute-names', '--only-values', '-n', name, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('devices, fifos, owners, setuid/setgid/sticky and times', async () => {
  const { dir, result } = await unpack([
    { name: 'dev/', type: 'dir', mtime: 1_000_000 },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
    { name: 'run/fifo', type: 'fifo', mode: 0o640, uid: 7, gid: 8, mtime: 1_500_000 },
    { name: 'usr/bin/su', data: 'su', mode: 0o4755, uid: 0, gid: 0 },
    { name: 'srv/', type: 'dir', mode: 0o2775, gid: 50 },
    { name: 'srv/file', data: 'x', uid: 1000, gid: 1000, mode: 0o600 },
    { name: 'tmp/', type: 'dir', mode: 0o1777 },
    { name: 'stamp', data: 'old', mtime: 981173106 },
  ]);
  const st = (p: string) => lstatSync(join(dir, p));
  expect(st('dev/null').isCharacterDevice()).toBe(true);
  expect(st('dev/null').rdev).toBe(0x103);
  expect(st('dev/null').mode & 0o7777).toBe(0o666);
  expect(st('dev/sda').isBlockDevice()).toBe(true);
  expect(st('dev/sda').gid).toBe(6);
  expect(st('run/fifo').isFIFO()).toBe(true);
  expect([st('run/fifo').mode & 0o7777, st('run/fifo').uid, st('run/fifo').gid, st('run/fifo').mtimeMs]).toEqual([0o640, 7, 8, 1_500_000_000]);
  expect(st('usr/bin/su').mode & 0o7777).toBe(0o4755);
  expect(st('srv').mode & 0o7777).toBe(0o2775);
  // Owner from the archive, not inherited from the setgid directory.
  expect([st('srv/file').uid, st('srv/file').gid]).toEqual([1000, 1000]);
  expect(st('tmp').mode & 0o7777).toBe(0o1777);
  expect(st('stamp').mtimeMs).toBe(981173106_000);
  // The directory's time survives the entries written into it afterwards.
  expect(st('dev').mtimeMs).toBe(1_000_000_000);
  // Implicit parents exist as root-owned 0755 directories.
  expect([st('usr/bin').mode & 0o7777, st('usr/bin').uid]).toEqual([0o755, 0]);
  expect(result.size).toBe('su'.length + 'x'.length + 'old'.length);
});

test('xattrs are set; overlay attributes from the archive are not; user.* on symlinks is skipped', async () => {
  const warnings: string[] = [];
  const { dir } = await unpack(
    [
      { name: 'f', data: 'x', xattrs: { 'user.color': 'blue', 'trusted.overlay.opaque': 'y', 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } },
      { name: 'd/', type: 'dir', xattrs: { 'trusted.overlay.redirect': '/elsewhere', 'user.k': 'v w' } },
      { name: 'l', type: 'symlink', linkname: 'f', xattrs: { 'user.no': 'x' } },
      { name: 'odd name\n', data: 'y', xattrs: { 'user.odd': 'z' } },
    ],
    warnings,
  );
  expect(xattr(join(dir, 'f'), 'user.color')).toBe('blue');
  expect(() => xattr(join(dir, 'f'), 'trusted.overlay.opaque')).toThrow();
  expect(execFileSync('getcap', [join(dir, 'f')], { encoding: 'utf8' })).toContain('cap_net_raw');
  expect(() => xattr(join(dir, 'd'), 'trusted.overlay.redirect')).toThrow();
  expect(xattr(join(dir, 'd'), 'user.k')).toBe('v w');
  expect(xattr(join(dir, 'odd name\n'), 'user.odd')).toBe('z');
  expect(warnings).toEqual([]);
});

test('whiteouts and opaque markers, in any order', async () => {
  const { dir } = await unpack([
    { name: 'a/.wh..wh..opq', data: '' },
    { name: 'a/', type: 'dir', mode: 0o750 },
    { name: 'a/kept', data: 'k' },
    { name: 'gone', data: 'soon replaced by a whiteout' },
    { name: '.wh.gone', data: '' },
    { name: 'b/.wh.deep', data: '' },
    { name: '.wh..wh.plnk', data: '' },
  ]);
  expect(xattr(join(dir, 'a'), 'trusted.overlay.opaque')).toBe('y');
  expect(lstatSync(join(dir, 'a')).mode & 0o7777).toBe(0o750);
  const gone = lstatSync(join(dir, 'gone'));
  expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);
  expect(lstatSync(join(dir, 'b/deep')).isCharacterDevice()).toBe(true);
  expect(() => lstatSync(join(dir, '.wh..wh.plnk'))).toThrow();
  expect(() => lstatSync(join(dir, '.wh.gone'))).toThrow();
});

test('later entries replace earlier ones; a symlink is replaced, never followed', async () => {
  // The symlink points at a scratch directory standing in for the host's /etc: a regression writes there, not to the host.
  const hostEtc = join(base, 'host-etc');
  mkdirSync(hostEtc);
  writeFileSync(join(hostEtc, 'passwd'), 'the host one');
  const { dir } = await unpack([
    { name: 'x', data: 'file first' },
    { name: 'x/', type: 'dir' },
    { name: 'x/inner', data: 'in' },
    { name: 'y/', type: 'dir', mode: 0o700 },
    { name: 'y/child', data: 'c' },
    { name: 'y', data: 'now a file' },
    { name: 'z', type: 'symlink', linkname: hostEtc },
    { name: 'z/', type: 'dir' },
    { name: 'z/passwd', data: 'not the host one' },
    { name: 'w/', type: 'dir', mode: 0o700 },
    { name: 'w/', type: 'dir', mode: 0o755 },
  ]);
  expect(readFileSync(join(dir, 'x/inner'), 'utf8')).toBe('in');
  expect(readFileSync(join(dir, 'y'), 'utf8')).toBe('now a file');
  expect(lstatSync(join(dir, 'z')).isDirectory()).toBe(true);
  expect(readFileSync(join(dir, 'z/passwd'), 'utf8')).toBe('not the host one');
  expect(readFileSync(join(hostEtc, 'passwd'), 'utf8')).toBe('the host one');
  expect(readdirSync(hostEtc)).toEqual(['passwd']);
  expect(lstatSync(join(dir, 'w')).mode & 0o7777).toBe(0o755);
});

test('a fifo replaced by a symlink to outside: the outside file keeps its mode', async () => {
  const outside = join(base, 'outside.txt');
  writeFileSync(outside, 'x', { mode: 0o600 });
  const { dir } = await unpack([
    { name: 'x', type: 'fifo', mode: 0o777 },
    { name: 'y', type: 'link', linkname: 'x' },
    { name: 'x', type: 'symlink', linkname: outside },
  ]);
  expect(lstatSync(join(dir, 'x')).isSymbolicLink()).toBe(true);
  expect(lstatSync(outside).mode & 0o7777).toBe(0o600);
});

test('hard links: to files, symlinks and fifos of the same layer', async () => {
  const { dir, result } = await unpack([
    { name: 'a', data: 'shared' },
    { name: 'b', type: 'link', linkname: 'a' },
    { name: 'p', type: 'fifo' },
    { name: 'q', type: 'link', linkname: './p' },
    { name: 's', type: 'symlink', linkname: 'nowhere' },
    { name: 't', type: 'link', linkname: 's' },
  ]);
  expect(lstatSync(join(dir, 'a')).ino).toBe(lstatSync(join(dir, 'b')).ino);
  expect(lstatSync(join(dir, 'q')).isFIFO()).toBe(true);
  expect(lstatSync(join(dir, 'p')).ino).toBe(lstatSync(join(dir, 'q')).ino);
  expect(readlinkSync(join(dir, 't'))).toBe('nowhere');
  expect(result.inodes).toBe(4); // root, a, p, s
});

test('long names (PAX and GNU) and a root entry', async () => {
  const long = `${'x'.repeat(150)}/${'y'.repeat(150)}`;
  const { dir } = await unpack([
    { name: './', type: 'dir', mode: 0o711 },
    { name: `${long}/pax.txt`, data: 'pax' },
    { name: `${long}/gnu.txt`, data: 'gnu', gnuLongName: true },
    { name: 'sl', type: 'symlink', linkname: `/${'t'.repeat(200)}` },
  ]);
  expect(lstatSync(dir).mode & 0o7777).toBe(0o711);
  expect(readFileSync(join(dir, long, 'pax.txt'), 'utf8')).toBe('pax');
  expect(readFileSync(join(dir, long, 'gnu.txt'), 'utf8')).toBe('gnu');
  expect(readlinkSync(join(dir, 'sl'))).toBe(`/${'t'.repeat(200)}`);
});

test.each([
  [[{ name: 'f', data: 'x' }, { name: 'f/g', data: 'y' }], 'parent "f" is not a directory'],
  [[{ name: 'l', type: 'symlink' as const, linkname: '.' }, { name: 'l/g', data: 'y' }], 'path passes through the symlink "l"'],
  [[{ name: 'd/', type: 'dir' as const }, { name: 'h', type: 'link' as const, linkname: 'd' }], 'hard link to the directory "d"'],
  [[{ name: 'a/../b', data: 'x' }], 'path contains ".."'],
  [[{ name: '.wh.', data: '' }], 'a whiteout that names no entry'],
  [[{ name: 'd/.wh..', data: '' }], 'a whiteout that names no entry'],
])('refused: %j', async (entries, message) => {
  await expect(unpack(entries)).rejects.toThrow(message);
});

describe('replacements cost what they replace (timings: see the commit that made removal O(subtree))', () => {
  test('one path written 50,000 times, as every kind of entry in turn, after 10,000 others', async () => {
    const entries: TarBuildEntry[] = Array.from({ length: 10_000 }, (_, i) => ({ name: `base/d${i % 50}/f${i}`, data: 'b' }));
    const kinds = (i: number): TarBuildEntry[] => {
      switch (i % 6) {
        case 0:
          return [{ name: 'etc/same', data: `version ${i}` }];
        case 1:
          return [{ name: 'etc/same', type: 'symlink', linkname: `target-${i}` }];
        case 2:
          return [{ name: 'etc/same', type: 'fifo' }];
        case 3:
          return [{ name: 'etc/same/', type: 'dir' }];
        case 4:
          return [{ name: 'etc/.wh.same', data: '' }];
        default:
          return [{ name: 'etc/same', type: 'char', devmajor: 1, devminor: 3 }];
      }
    };
    for (let i = 0; i < 50_000; i++) entries.push(...kinds(i));
    // A hard link keeps the content of the version it named; the last version wins at the path.
    entries.push({ name: 'etc/same', data: 'kept by the link' }, { name: 'etc/link', type: 'link', linkname: 'etc/same' }, { name: 'etc/same', data: 'last', mode: 0o640 });
    const { dir, result } = await unpack(entries);
    expect(readdirSync(join(dir, 'etc')).sort()).toEqual(['link', 'same']);
    expect(readFileSync(join(dir, 'etc/same'), 'utf8')).toBe('last');
    expect(lstatSync(join(dir, 'etc/same')).mode & 0o7777).toBe(0o640);
    expect(readFileSync(join(dir, 'etc/link'), 'utf8')).toBe('kept by the link');
    expect(readdirSync(join(dir, 'base'))).toHaveLength(50);
    expect(readFileSync(join(dir, 'base/d7/f9957'), 'utf8')).toBe('b');
    expect(result.size).toBeGreaterThan(10_000);
  }, 300_000);

  test('nested trees replaced 2,000 times, with devices and whiteouts inside that were never made', async () => {
    const entries: TarBuildEntry[] = [];
    for (let r = 0; r < 2_000; r++) {
      entries.push(
        { name: 'n/', type: 'dir' },
        { name: 'n/a/', type: 'dir', mode: 0o700 },
        { name: 'n/a/b/c/deep', data: `deep ${r}` },
        { name: 'n/a/f', data: `f ${r}` },
        { name: 'n/a/p', type: 'fifo' },
        { name: 'n/a/.wh.f', data: '' },
        { name: 'n/a/hard', type: 'link', linkname: 'n/a/b/c/deep' },
        { name: 'n/a/dev', type: 'char', devmajor: 1, devminor: 5 },
      );
      // Every other round the tree is replaced by a file, then by a whiteout of it.
      entries.push(r % 2 === 0 ? { name: 'n', data: `file ${r}` } : { name: '.wh.n', data: '' });
    }
    // The last round left a whiteout at "n"; a directory replaces it.
    entries.push({ name: 'n/', type: 'dir' }, { name: 'n/a/kept', type: 'fifo', mode: 0o600 }, { name: 'n/a/.wh..wh..opq', data: '' });
    const { dir } = await unpack(entries);
    expect(readdirSync(join(dir, 'n'))).toEqual(['a']);
    expect(readdirSync(join(dir, 'n/a'))).toEqual(['kept']);
    expect(lstatSync(join(dir, 'n/a/kept')).isFIFO()).toBe(true);
    expect(lstatSync(join(dir, 'n/a/kept')).mode & 0o7777).toBe(0o600);
    expect(xattr(join(dir, 'n/a'), 'trusted.overlay.opaque')).toBe('y');
    expect(readdirSync(dir)).toEqual(['n']);
  }, 300_000);
});

test('a layer may have image.max_layer_entries entries, and not one more', async () => {
  const entries = (count: number): TarBuildEntry[] => Array.from({ length: count }, (_, i) => ({ name: `f${i}`, data: '' }));
  await expect(unpack(entries(100), [], { maxEntries: 100 })).resolves.toMatchObject({ result: { inodes: 101 } });
  const err = await unpack(entries(101), [], { maxEntries: 100 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LayerLimitError);
  expect(err).toMatchObject({ code: 'ResourceExhausted', message: 'has more than 100 entries (image.max_layer_entries)' });
});
