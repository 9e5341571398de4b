import { constants, createDeflate, createInflate, inflateSync, deflateSync } from 'node:zlib';
import { HeaderCompressionError, HeaderCompressor, HeaderDecompressor, SPDY3_DICTIONARY_ID, adler32 } from './compression';
import { SPDY3_DICTIONARY } from './dictionary';

/** Compresses blocks with one continuous zlib context (as Go's framer does), flushing each with Z_SYNC_FLUSH. */
async function continuousDeflate(blocks: Buffer[], dictionary?: Buffer): Promise<Buffer[]> {
  const z = createDeflate({ level: 9, ...(dictionary ? { dictionary } : {}) });
  let current: Buffer[] = [];
  z.on('data', (c: Buffer) => current.push(c));
  const out: Buffer[] = [];
  for (const b of blocks) {
    current = [];
    z.write(b);
    await new Promise<void>((resolve) => z.flush(constants.Z_SYNC_FLUSH, () => setImmediate(resolve)));
    out.push(Buffer.concat(current));
  }
  z.close();
  return out;
}

/** Inflates a whole sequence of compressed blocks with one continuous context. */
async function continuousInflate(pieces: Buffer[]): Promise<Buffer[]> {
  const z = createInflate({ dictionary: SPDY3_DICTIONARY });
  let current: Buffer[] = [];
  z.on('data', (c: Buffer) => current.push(c));
  const out: Buffer[] = [];
  for (const p of pieces) {
    current = [];
    z.write(p);
    await new Promise<void>((resolve) => z.flush(constants.Z_SYNC_FLUSH, () => setImmediate(resolve)));
    out.push(Buffer.concat(current));
  }
  z.close();
  return out;
}

function headerish(i: number): Buffer {
  return Buffer.from(`\0\0\0\x02\0\0\0\x0astreamtype\0\0\0\x06stdout\0\0\0\x04port\0\0\0\x04${8000 + i}requestid ${i} content-type text/plain`);
}

describe('the SPDY/3 dictionary', () => {
  test('is the 1423 bytes whose adler32 is the well-known dictionary id', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(SPDY3_DICTIONARY_ID).toBe(0xe3c6a7c2);
    expect(SPDY3_DICTIONARY.subarray(0, 11)).toEqual(Buffer.from('\0\0\0\x07options'));
    expect(SPDY3_DICTIONARY.subarray(-6).toString()).toBe('enq=0.');
  });

  test('adler32 matches known values', () => {
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(Buffer.alloc(0))).toBe(1);
    const big = Buffer.alloc(100_000, 0xff);
    // zlib's own trailer carries the adler32 of the input.
    const z = deflateSync(big);
    expect(adler32(big)).toBe(z.readUInt32BE(z.length - 4));
  });
});

describe('HeaderDecompressor', () => {
  test('reads header blocks compressed by one continuous zlib context with the dictionary', async () => {
    const blocks = Array.from({ length: 6 }, (_, i) => headerish(i));
    const compressed = await continuousDeflate(blocks, SPDY3_DICTIONARY);
    // The first block opens the zlib stream: deflate, FDICT, the dictionary id.
    expect(compressed[0]![0]).toBe(0x78);
    expect(compressed[0]![1]! & 0x20).toBe(0x20);
    expect(compressed[0]!.readUInt32BE(2)).toBe(0xe3c6a7c2);
    // Later blocks refer back to earlier ones: they are smaller than the first.
    expect(compressed[3]!.length).toBeLessThan(compressed[0]!.length);
    const d = new HeaderDecompressor(1 << 20);
    for (let i = 0; i < blocks.length; i++) expect(d.decompress(compressed[i]!)).toEqual(blocks[i]);
  });

  test('keeps the window across blocks larger than 32 KiB', async () => {
    const blocks = [Buffer.from('a'.repeat(40_000) + 'marker-one'), Buffer.from('x'.repeat(1000)), Buffer.from('marker-one'.repeat(50)), headerish(1)];
    const compressed = await continuousDeflate(blocks, SPDY3_DICTIONARY);
    const d = new HeaderDecompressor(1 << 20);
    for (let i = 0; i < blocks.length; i++) expect(d.decompress(compressed[i]!)).toEqual(blocks[i]);
  });

  test('accepts a stream that uses no dictionary', async () => {
    const blocks = [headerish(1), headerish(2)];
    const compressed = await continuousDeflate(blocks);
    expect(compressed[0]![1]! & 0x20).toBe(0);
    const d = new HeaderDecompressor(1 << 20);
    expect(d.decompress(compressed[0]!)).toEqual(blocks[0]);
    expect(d.decompress(compressed[1]!)).toEqual(blocks[1]);
  });

  test('refuses output beyond its limit, a foreign dictionary and garbage', async () => {
    const [big] = await continuousDeflate([Buffer.alloc(5000)], SPDY3_DICTIONARY);
    expect(() => new HeaderDecompressor(1000).decompress(big!)).toThrow(HeaderCompressionError);
    const [foreign] = await continuousDeflate([headerish(1)], Buffer.from('some other dictionary'));
    expect(() => new HeaderDecompressor(1000).decompress(foreign!)).toThrow(/unknown dictionary/);
    expect(() => new HeaderDecompressor(1000).decompress(Buffer.from([1, 2, 3]))).toThrow(HeaderCompressionError);
    const d = new HeaderDecompressor(1000);
    d.decompress((await continuousDeflate([headerish(1)], SPDY3_DICTIONARY))[0]!);
    expect(() => d.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(HeaderCompressionError);
  });
});

describe('HeaderCompressor', () => {
  test('produces one zlib stream that a continuous inflater reads block by block', async () => {
    const c = new HeaderCompressor();
    const blocks = [headerish(1), Buffer.alloc(0), headerish(2), Buffer.from('y'.repeat(50_000)), headerish(3), headerish(1)];
    const pieces = blocks.map((b) => c.compress(b));
    expect(pieces[0]!.subarray(0, 2)).toEqual(Buffer.from([0x78, pieces[0]![1]!]));
    expect((0x78 * 256 + pieces[0]![1]!) % 31).toBe(0);
    expect(pieces[0]!.readUInt32BE(2)).toBe(0xe3c6a7c2);
    // Each piece ends with a sync flush marker (an empty stored block).
    for (const p of pieces) expect(p.subarray(-4)).toEqual(Buffer.from([0x00, 0x00, 0xff, 0xff]));
    // Repeated content is compressed against the shared window.
    expect(pieces[5]!.length).toBeLessThan(pieces[0]!.length);
    expect(await continuousInflate(pieces)).toEqual(blocks);
    expect(inflateSync(Buffer.concat(pieces), { dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH })).toEqual(Buffer.concat(blocks));
  });

  test('round-trips with HeaderDecompressor', () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor(1 << 20);
    for (let i = 0; i < 200; i++) {
      const block = Buffer.from(`${'k'.repeat(i % 17)}:${i}:${'v'.repeat((i * 37) % 900)}`);
      expect(d.decompress(c.compress(block))).toEqual(block);
    }
  });
});
