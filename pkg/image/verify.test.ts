import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, gzipSync, zstdCompressSync, constants as zlibConstants } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { defaultConfig } from '../config/config';
import { LayerLimitError } from '../storage/unpack_limits';
import { sha256Digest } from './digest';
import { decompress, DEFAULT_ZSTD_WINDOW_LOG_MAX, DigestVerifier, hashing, VerifyError } from './verify';

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

function chunks(buf: Buffer, size: number): Readable {
  const list: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) list.push(buf.subarray(i, i + size));
  return Readable.from(list);
}

async function verify(data: Buffer, digest: string, size: number): Promise<number> {
  const v = new DigestVerifier(digest, size, 'blob x');
  let seen = 0;
  await pipeline(chunks(data, 3), v, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) seen += c.length;
  });
  return seen;
}

test('a blob that matches passes through', async () => {
  const data = Buffer.from('hello world');
  await expect(verify(data, sha256Digest(data), data.length)).resolves.toBe(data.length);
});

test('more bytes than declared fail before the end, whatever the stream claims', async () => {
  const data = Buffer.from('hello world, and more');
  await expect(verify(data, sha256Digest(data), 5)).rejects.toThrow('blob x: the registry sent more than the 5 bytes');
});

test('fewer bytes and wrong content fail', async () => {
  const data = Buffer.from('hello');
  await expect(verify(data, sha256Digest(data), 6)).rejects.toThrow('got 5 bytes, its descriptor declares 6');
  await expect(verify(data, sha256Digest('other'), 5)).rejects.toThrow(VerifyError);
  await expect(verify(data, sha256Digest('other'), 5)).rejects.toThrow('does not match its digest');
});

test.each([
  ['gzip', gzipSync],
  ['zstd', zstdCompressSync],
  ['plain', (b: Buffer) => b],
])('%s data is recognized and decompressed', async (_name, compress) => {
  const raw = Buffer.concat([randomBytes(300_000), Buffer.alloc(300_000, 7)]);
  const result = { bytes: 0 } as { digest?: string; bytes: number };
  const out = await collect(hashing(decompress(chunks(compress(raw), 1000)), result));
  expect(out.equals(raw)).toBe(true);
  expect(result.digest).toBe(sha256Digest(raw));
  expect(result.bytes).toBe(raw.length);
});

test('corrupt gzip fails', async () => {
  const bad = Buffer.from(gzipSync(Buffer.alloc(10_000, 1)));
  bad[bad.length - 6] ^= 0xff;
  await expect(collect(decompress(chunks(bad, 100)))).rejects.toThrow();
});

test('empty and tiny inputs', async () => {
  expect((await collect(decompress(chunks(Buffer.alloc(0), 1)))).length).toBe(0);
  expect((await collect(decompress(chunks(Buffer.from('ab'), 1)))).toString()).toBe('ab');
});

describe('the zstd window', () => {
  /** A streamed frame declares the window it was compressed with (a one-shot compress would fit it to the data). */
  async function zstdStream(data: Buffer, windowLog: number): Promise<Buffer> {
    return collect(Readable.from([data]).pipe(createZstdCompress({ params: { [zlibConstants.ZSTD_c_windowLog]: windowLog } })));
  }

  test('a frame that needs more than 128 MiB is refused unless configured', async () => {
    const raw = Buffer.alloc(100_000, 3);
    const frame = await zstdStream(raw, 28);
    const err = await collect(decompress(chunks(frame, 1000))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerLimitError);
    expect(err).toMatchObject({ code: 'ResourceExhausted', message: 'has zstd data that needs a window larger than 2^27 bytes (image.zstd_max_window_log is 27)' });
    expect((await collect(decompress(chunks(frame, 1000), { zstdWindowLogMax: 28 }))).equals(raw)).toBe(true);
    await expect(collect(decompress(chunks(frame, 1000), { zstdWindowLogMax: 20 }))).rejects.toThrow('larger than 2^20 bytes');
  });

  test('up to 128 MiB decompresses by default', async () => {
    const raw = Buffer.alloc(100_000, 4);
    expect((await collect(decompress(chunks(await zstdStream(raw, 27), 1000)))).equals(raw)).toBe(true);
    expect(DEFAULT_ZSTD_WINDOW_LOG_MAX).toBe(defaultConfig().image.zstd_max_window_log);
  });
});
