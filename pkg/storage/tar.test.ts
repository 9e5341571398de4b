import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarReader, TarError, type TarHeader } from './tar';
import { buildGlobalHeader, buildTar } from './tar_build';
import { LayerLimitError } from './unpack_limits';

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(buf: Buffer, chunk = 7): Promise<{ h: TarHeader; data: string }[]> {
  const r = new TarReader(chunked(buf, chunk));
  const out: { h: TarHeader; data: string }[] = [];
  for (let h = await r.next(); h; h = await r.next()) {
    const parts: Buffer[] = [];
    for await (const b of r.body()) parts.push(Buffer.from(b));
    out.push({ h, data: Buffer.concat(parts).toString() });
  }
  await r.drain();
  return out;
}

test('ustar entries of every kind, read in odd-sized chunks', async () => {
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/file.txt`;
  const tar = buildTar([
    { name: 'dir/', type: 'dir', mode: 0o2775, uid: 1, gid: 2 },
    { name: 'dir/a.txt', data: 'hello', mode: 0o4755, mtime: 981173106 },
    { name: 'dir/link', type: 'symlink', linkname: '../x' },
    { name: 'dir/hard', type: 'link', linkname: 'dir/a.txt' },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
    { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    { name: 'run/f', type: 'fifo' },
    { name: long, data: 'long' },
    { name: `${'g'.repeat(120)}.txt`, data: 'gnu', gnuLongName: true },
    { name: 'x', data: 'x', xattrs: { 'user.k': Buffer.from([0, 1, 255]), 'security.capability': 'cap' } },
  ]);
  const got = await readAll(tar);
  expect(got.map((e) => [e.h.name, e.h.type])).toEqual([
    ['dir/', 'dir'],
    ['dir/a.txt', 'file'],
    ['dir/link', 'symlink'],
    ['dir/hard', 'link'],
    ['dev/null', 'char'],
    ['dev/sda', 'block'],
    ['run/f', 'fifo'],
    [long, 'file'],
    [`${'g'.repeat(120)}.txt`, 'file'],
    ['x', 'file'],
  ]);
  expect(got[0]!.h).toMatchObject({ mode: 0o2775, uid: 1, gid: 2 });
  expect(got[1]).toMatchObject({ data: 'hello', h: { mode: 0o4755, mtime: 981173106, size: 5 } });
  expect(got[2]!.h.linkname).toBe('../x');
  expect(got[4]!.h).toMatchObject({ devmajor: 1, devminor: 3 });
  expect(got[7]!.data).toBe('long');
  expect(got[8]!.data).toBe('gnu');
  expect(got[9]!.h.xattrs.get('user.k')).toEqual(Buffer.from([0, 1, 255]));
  expect(got[9]!.h.xattrs.get('security.capability')!.toString()).toBe('cap');
});

test('unread bodies are skipped and a missing trailer is accepted', async () => {
  const tar = buildTar([{ name: 'a', data: 'x'.repeat(1000) }, { name: 'b', data: 'y' }], { trailer: false });
  const r = new TarReader(chunked(tar, 100));
  expect((await r.next())!.name).toBe('a');
  expect((await r.next())!.name).toBe('b');
  expect(await r.next()).toBeUndefined();
});

test('archives written by GNU tar (gnu and pax formats, xattrs, hard links)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'krill-tar-'));
  try {
    const src = join(dir, 'src');
    const deep = join(src, 'a'.repeat(80), 'b'.repeat(80));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'file-with-a-long-name.txt'), 'deep');
    writeFileSync(join(src, 'plain'), 'p');
    linkSync(join(src, 'plain'), join(src, 'plain-hard'));
    symlinkSync(`/${'t'.repeat(150)}`, join(src, 'long-symlink'));
    for (const format of ['gnu', 'pax']) {
      const tar = execFileSync('tar', ['-C', src, `--format=${format}`, '--sort=name', '-cf', '-', '.']);
      const got = await readAll(tar, 4096);
      const byName = new Map(got.map((e) => [e.h.name.replace(/^\.\//, ''), e]));
      expect(byName.get(`${'a'.repeat(80)}/${'b'.repeat(80)}/file-with-a-long-name.txt`)!.data).toBe('deep');
      expect(byName.get('plain-hard')!.h).toMatchObject({ type: 'link', linkname: './plain' });
      expect(byName.get('long-symlink')!.h).toMatchObject({ type: 'symlink', linkname: `/${'t'.repeat(150)}` });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corruption is detected', async () => {
  const tar = buildTar([{ name: 'a', data: 'hello' }]);
  const bad = Buffer.from(tar);
  bad[0] = 'b'.charCodeAt(0);
  await expect(readAll(bad)).rejects.toThrow('bad header checksum');
  await expect(readAll(tar.subarray(0, 514))).rejects.toThrow(TarError);
  const garbage = Buffer.from(tar);
  garbage.fill(0xff, 148, 156); // not even a number where the checksum goes
  await expect(readAll(garbage)).rejects.toThrow('bad header checksum at offset 0');
  const sparse = buildTar([{ name: 's', data: 'x', pax: { 'GNU.sparse.major': '1' } }]);
  await expect(readAll(sparse)).rejects.toThrow('sparse files are not supported');
});

test('base-256 numbers (GNU) for large uids', async () => {
  const tar = buildTar([{ name: 'big', data: 'z' }]);
  const b = Buffer.from(tar);
  // uid field at 108..116: 0x80 marker then big-endian 4_000_000_000.
  b.fill(0, 108, 116);
  b[108] = 0x80;
  b.writeUInt32BE(4_000_000_000, 112);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  const got = await readAll(b);
  expect(got[0]!.h.uid).toBe(4_000_000_000);
});

describe('PAX bounds', () => {
  const entries = buildTar([{ name: 'a', data: 'x' }, { name: 'b', data: 'y', pax: { uid: '7' } }]);

  test('global headers apply to every later entry; an entry\'s own records win', async () => {
    const tar = Buffer.concat([buildGlobalHeader({ uid: '42', comment: 'git archive', 'SCHILY.xattr.user.g': 'global' }), entries]);
    const got = await readAll(tar, 100);
    expect(got.map((e) => [e.h.name, e.h.uid, e.h.xattrs.get('user.g')?.toString()])).toEqual([
      ['a', 42, 'global'],
      ['b', 7, 'global'],
    ]);
  });

  test('16 global headers pass, a 17th is refused', async () => {
    const globals = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => buildGlobalHeader({ comment: `c${i}` }));
    await expect(readAll(Buffer.concat([...globals(16), entries]), 512)).resolves.toHaveLength(2);
    const err = await readAll(Buffer.concat([...globals(17), entries]), 512).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerLimitError);
    expect((err as LayerLimitError).code).toBe('ResourceExhausted');
    expect((err as Error).message).toBe('has more than 16 global PAX headers');
  });

  test('global headers are bounded in bytes and in keys', async () => {
    const big = buildGlobalHeader({ comment: 'x'.repeat(40 * 1024) });
    await expect(readAll(Buffer.concat([big, entries]), 4096)).resolves.toHaveLength(2);
    await expect(readAll(Buffer.concat([big, big, entries]), 4096)).rejects.toThrow('has global PAX headers of more than 65536 bytes in all');
    const keys = (from: number, n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, 'v']));
    await expect(readAll(Buffer.concat([buildGlobalHeader(keys(0, 64)), buildGlobalHeader(keys(0, 64)), entries]), 4096)).resolves.toHaveLength(2);
    await expect(readAll(Buffer.concat([buildGlobalHeader(keys(0, 40)), buildGlobalHeader(keys(40, 25)), entries]), 4096)).rejects.toThrow(
      'has global PAX headers setting more than 64 keys',
    );
  });

  test('one PAX header holds at most 1024 records', async () => {
    const records = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`SCHILY.xattr.user.k${i}`, 'v']));
    await expect(readAll(buildTar([{ name: 'ok', data: '', pax: records(1024) }]), 4096)).resolves.toHaveLength(1);
    await expect(readAll(buildTar([{ name: 'many', data: '', pax: records(1025) }]), 4096)).rejects.toThrow('has a PAX header of more than 1024 records');
    await expect(readAll(Buffer.concat([buildGlobalHeader(records(1025)), entries]), 4096)).rejects.toThrow(LayerLimitError);
  });
});
