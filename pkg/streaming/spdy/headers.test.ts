import { DEFAULT_HEADER_LIMITS, HeaderBlockError, decodeHeaderBlock, encodeHeaderBlock, headerValue } from './headers';

describe('SPDY header blocks', () => {
  test('encode the pair count, then length-prefixed names and NUL-joined values', () => {
    const block = encodeHeaderBlock({ streamtype: ['stdout'], Port: ['80', '81'] });
    expect(block).toEqual(
      Buffer.concat([
        Buffer.from([0, 0, 0, 2]),
        Buffer.from([0, 0, 0, 10]),
        Buffer.from('streamtype'),
        Buffer.from([0, 0, 0, 6]),
        Buffer.from('stdout'),
        Buffer.from([0, 0, 0, 4]),
        Buffer.from('port'),
        Buffer.from([0, 0, 0, 5]),
        Buffer.from('80\u000081'),
      ]),
    );
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: ['stdout'], port: ['80', '81'] });
  });

  test('an empty block is four zero bytes', () => {
    expect(encodeHeaderBlock({})).toEqual(Buffer.alloc(4));
    expect(decodeHeaderBlock(Buffer.alloc(4))).toEqual({});
  });

  test('names are lowercased on the way in and looked up case-insensitively', () => {
    const raw = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 9]), Buffer.from('RequestID'), Buffer.from([0, 0, 0, 1]), Buffer.from('7')]);
    const h = decodeHeaderBlock(raw);
    expect(h).toEqual({ requestid: ['7'] });
    expect(headerValue(h, 'requestID')).toBe('7');
    expect(headerValue(h, 'missing')).toBe('');
  });

  test('malformed blocks are refused', () => {
    const good = encodeHeaderBlock({ a: ['b'] });
    expect(() => decodeHeaderBlock(good.subarray(0, good.length - 1))).toThrow(HeaderBlockError);
    expect(() => decodeHeaderBlock(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    const dup = Buffer.concat([Buffer.from([0, 0, 0, 2]), encodeHeaderBlock({ a: ['1'] }).subarray(4), encodeHeaderBlock({ A: ['2'] }).subarray(4)]);
    expect(() => decodeHeaderBlock(dup)).toThrow(/duplicate/);
    expect(() => decodeHeaderBlock(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/exceed/);
    expect(() => decodeHeaderBlock(good, { ...DEFAULT_HEADER_LIMITS, maxFieldBytes: 0 })).toThrow(/exceeds/);
  });
});
