import { constants, createDeflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';
import { FrameDecoder, FrameEncoder, RstStatus, SpdyProtocolError, type Frame } from './frames';
import { encodeHeaderBlock } from './headers';
import capture from './testdata/crictl-1.32.json';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * Joins consecutive DATA frames of one stream (a FIN ends a run): the decoder
 * may hand out a wire frame's payload in pieces, so both sides are compared joined.
 */
function merged(frames: Frame[]): Frame[] {
  const out: Frame[] = [];
  for (const f of frames) {
    const last = out[out.length - 1];
    if (f.type === 'data' && last?.type === 'data' && last.streamId === f.streamId && !last.fin) {
      out[out.length - 1] = { ...last, data: Buffer.concat([last.data, f.data]), fin: f.fin };
    } else {
      out.push(f);
    }
  }
  return out;
}

describe('FrameDecoder on frames built by hand from the SPDY/3 spec', () => {
  test('fixed-layout control frames', () => {
    const d = new FrameDecoder();
    const frames = d.push(
      Buffer.concat([
        hex('8003 0006 00 000004 00000001'), // PING id 1
        hex('8003 0003 00 000008 00000003 00000005'), // RST_STREAM stream 3 CANCEL
        hex('8003 0007 00 000008 00000005 00000000'), // GOAWAY last good 5, OK
        hex('8003 0004 01 000014 00000002 01000007 00010000 00000004 00000064'), // SETTINGS (clear) window 65536 persisted, max streams 100
        hex('8003 0009 00 000008 00000001 00010000'), // WINDOW_UPDATE stream 1 +65536
        hex('8003 00ff 00 000002 abcd'), // an unknown control type
      ]),
    );
    expect(frames).toEqual([
      { type: 'ping', id: 1 },
      { type: 'rst_stream', streamId: 3, status: RstStatus.Cancel },
      { type: 'goaway', lastGoodStreamId: 5, status: 0 },
      { type: 'settings', clear: true, entries: [{ flags: 1, id: 7, value: 65536 }, { flags: 0, id: 4, value: 100 }] },
      { type: 'window_update', streamId: 1, delta: 65536 },
      { type: 'unknown', frameType: 0xff, flags: 0, payload: hex('abcd') },
    ]);
  });

  test('DATA frames, with and without FIN', () => {
    const frames = new FrameDecoder().push(hex('00000001 00 000003 616263  00000001 01 000000'));
    expect(frames).toEqual([
      { type: 'data', streamId: 1, fin: false, data: Buffer.from('abc') },
      { type: 'data', streamId: 1, fin: true, data: Buffer.alloc(0) },
    ]);
  });

  test('SYN_STREAM frames whose header blocks share one zlib context', async () => {
    // Two header blocks compressed the way Go's framer does: one deflater, Z_SYNC_FLUSH per frame.
    const z = createDeflate({ level: 9, dictionary: SPDY3_DICTIONARY });
    const blocks = [encodeHeaderBlock({ streamtype: ['error'] }), encodeHeaderBlock({ streamtype: ['stdout'] })];
    const compressed: Buffer[] = [];
    let cur: Buffer[] = [];
    z.on('data', (c: Buffer) => cur.push(c));
    for (const b of blocks) {
      cur = [];
      z.write(b);
      await new Promise<void>((r) => z.flush(constants.Z_SYNC_FLUSH, () => setImmediate(r)));
      compressed.push(Buffer.concat(cur));
    }
    z.close();
    const syn = (id: number, flags: number, block: Buffer): Buffer => {
      const head = hex(`8003 0001 0${flags} ${(10 + block.length).toString(16).padStart(6, '0')}`);
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(id);
      fixed[8] = 0x60; // priority 3
      return Buffer.concat([head, fixed, block]);
    };
    const frames = new FrameDecoder().push(Buffer.concat([syn(1, 0, compressed[0]!), syn(3, 2, compressed[1]!)]));
    expect(frames).toEqual([
      { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 3, slot: 0, fin: false, unidirectional: false, headers: { streamtype: ['error'] } },
      { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 3, slot: 0, fin: false, unidirectional: true, headers: { streamtype: ['stdout'] } },
    ]);
  });

  test('protocol violations', () => {
    expect(() => new FrameDecoder().push(hex('8002 0006 00 000004 00000001'))).toThrow(/version 2/);
    expect(() => new FrameDecoder().push(hex('00000000 00 000000'))).toThrow(SpdyProtocolError);
    expect(() => new FrameDecoder({ maxControlPayload: 16 }).push(hex('8003 0001 00 000100'))).toThrow(/exceeds/);
    expect(() => new FrameDecoder().push(hex('8003 0003 00 000008 00000000 00000001'))).toThrow(/stream 0/);
    expect(() => new FrameDecoder().push(hex('8003 0006 00 000002 0000'))).toThrow(/too short/);
    const d = new FrameDecoder();
    expect(() => d.push(hex('8003 0002 00 000006 00000001 ffff'))).toThrow(SpdyProtocolError);
    expect(() => d.push(hex('8003 0006 00 000004 00000001'))).toThrow(/already failed/);
  });
});

describe('FrameEncoder → FrameDecoder', () => {
  function sequence(e: FrameEncoder): Buffer[] {
    return [
      e.synStream({ streamId: 1, headers: { streamtype: ['error'] } }),
      e.synStream({ streamId: 3, priority: 2, fin: true, headers: { streamtype: ['stdin'], port: ['80', '8080'] } }),
      e.synReply(1, {}),
      e.synReply(3, { status: ['200'] }, true),
      e.headers(1, { 'x-more': ['yes'] }, true),
      e.data(1, Buffer.from('hello'), false),
      e.data(1, Buffer.alloc(70_000, 0x61), true),
      e.rstStream(3, RstStatus.RefusedStream),
      e.settings([{ id: 4, value: 1000 }, { flags: 1, id: 7, value: 1 << 20 }]),
      e.ping(7),
      e.windowUpdate(1, 4096),
      e.goAway(3),
    ];
  }

  const expected: Frame[] = [
    { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 0, slot: 0, fin: false, unidirectional: false, headers: { streamtype: ['error'] } },
    { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 2, slot: 0, fin: true, unidirectional: false, headers: { streamtype: ['stdin'], port: ['80', '8080'] } },
    { type: 'syn_reply', streamId: 1, fin: false, headers: {} },
    { type: 'syn_reply', streamId: 3, fin: true, headers: { status: ['200'] } },
    { type: 'headers', streamId: 1, fin: true, headers: { 'x-more': ['yes'] } },
    { type: 'data', streamId: 1, fin: false, data: Buffer.from('hello') },
    { type: 'data', streamId: 1, fin: true, data: Buffer.alloc(70_000, 0x61) },
    { type: 'rst_stream', streamId: 3, status: RstStatus.RefusedStream },
    { type: 'settings', clear: false, entries: [{ flags: 0, id: 4, value: 1000 }, { flags: 1, id: 7, value: 1 << 20 }] },
    { type: 'ping', id: 7 },
    { type: 'window_update', streamId: 1, delta: 4096 },
    { type: 'goaway', lastGoodStreamId: 3, status: 0 },
  ];

  test('every frame type round-trips', () => {
    const frames = new FrameDecoder().push(Buffer.concat(sequence(new FrameEncoder())));
    expect(merged(frames)).toEqual(merged(expected));
  });

  test('fed one byte at a time, the same frames come out, DATA payloads as they arrive', () => {
    const bytes = Buffer.concat(sequence(new FrameEncoder()));
    const d = new FrameDecoder();
    const frames: Frame[] = [];
    for (let i = 0; i < bytes.length; i++) frames.push(...d.push(bytes.subarray(i, i + 1)));
    expect(frames.filter((f) => f.type === 'data').length).toBeGreaterThan(70_000);
    expect(merged(frames)).toEqual(merged(expected));
  });

  test('the DATA frame header carries stream id, FIN and a 24-bit length', () => {
    expect(new FrameEncoder().data(5, Buffer.from('xy'), true)).toEqual(hex('00000005 01 000002 7879'));
    expect(new FrameEncoder().ping(2)).toEqual(hex('8003 0006 00 000004 00000002'));
    expect(new FrameEncoder().rstStream(1, RstStatus.Cancel)).toEqual(hex('8003 0003 00 000008 00000001 00000005'));
    expect(new FrameEncoder().goAway(9, 1)).toEqual(hex('8003 0007 00 000008 00000009 00000001'));
    expect(() => new FrameEncoder().data(1, Buffer.alloc(0x1000000), false)).toThrow(RangeError);
  });
});

describe('frames captured from a real client (crictl 1.32: client-go over moby/spdystream)', () => {
  test('an exec with stdin: four SYN_STREAMs sharing one compression context, then stdin and its FIN', () => {
    const bytes = Buffer.from(capture.exec, 'hex');
    // The first header block opens a zlib stream with the SPDY/3 dictionary (78 f9, id e3c6a7c2).
    expect(bytes.subarray(18, 24).toString('hex')).toBe('78f9e3c6a7c2');
    const syn = (streamId: number, type: string): Frame => ({ type: 'syn_stream', streamId, associatedTo: 0, priority: 0, slot: 0, fin: false, unidirectional: false, headers: { streamtype: [type] } });
    const expectedFrames: Frame[] = [
      syn(1, 'error'),
      syn(3, 'stdin'),
      syn(5, 'stdout'),
      syn(7, 'stderr'),
      { type: 'data', streamId: 3, fin: false, data: Buffer.from('hi\n') },
      { type: 'data', streamId: 3, fin: true, data: Buffer.alloc(0) },
    ];
    expect(new FrameDecoder().push(bytes)).toEqual(expectedFrames);
    const d = new FrameDecoder();
    const bytewise: Frame[] = [];
    for (let i = 0; i < bytes.length; i++) bytewise.push(...d.push(bytes.subarray(i, i + 1)));
    expect(merged(bytewise)).toEqual(merged(expectedFrames));
  });

  test('a port-forward connection: error stream (half-closed at once), data stream, GOAWAY', () => {
    const headers = (type: string): Record<string, string[]> => ({ streamtype: [type], port: ['35287'], requestid: ['0'] });
    expect(new FrameDecoder().push(Buffer.from(capture.portforward, 'hex'))).toEqual([
      { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 0, slot: 0, fin: false, unidirectional: false, headers: headers('error') },
      { type: 'data', streamId: 1, fin: true, data: Buffer.alloc(0) },
      { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 0, slot: 0, fin: false, unidirectional: false, headers: headers('data') },
      { type: 'data', streamId: 3, fin: false, data: Buffer.from('ping') },
      { type: 'data', streamId: 3, fin: true, data: Buffer.alloc(0) },
      { type: 'goaway', lastGoodStreamId: 0, status: 0 },
    ]);
  });
});
