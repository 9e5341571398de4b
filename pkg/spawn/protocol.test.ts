import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeDial,
  decodeSpawn,
  DIAL_STEP,
  encodeDataHeader,
  encodeDial,
  encodeInts,
  encodeSpawn,
  FD_MODE,
  FrameDecoder,
  HEADER_BYTES,
  intAt,
  MAX_FRAME_BYTES,
  MSG,
  REQ,
  SOCKET_FD,
  type Frame,
  type SpawnRequest,
} from './protocol';
import * as protocol from './protocol';

function decodeAll(bytes: Buffer, splits: number[] = []): Frame[] {
  const d = new FrameDecoder();
  const frames: Frame[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    d.push(bytes.subarray(at, s), (f) => frames.push({ ...f, payload: Buffer.from(f.payload) }));
    at = s;
  }
  return frames;
}

const spawnReq: SpawnRequest = {
  file: 'sh',
  cwd: '/tmp/wörk',
  argv: ['sh', '-c', 'echo "$X"', ''],
  env: ['X=ünïcode', 'EMPTY='],
  setsid: true,
  umask022: true,
  fds: [FD_MODE.input, FD_MODE.output, FD_MODE.null, FD_MODE.output, FD_MODE.input],
};

describe('spawn server frames', () => {
  it('lays a frame out as length, type, id, payload (big-endian)', () => {
    const f = encodeInts(MSG.exit, 0x01020304, -1, 9);
    expect([...f]).toEqual([0, 0, 0, 13, 0x87, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9]);
    const [d] = decodeAll(f);
    expect(d!.type).toBe(MSG.exit);
    expect(d!.id).toBe(0x01020304);
    expect(intAt(d!.payload, 0)).toBe(-1);
    expect(intAt(d!.payload, 1)).toBe(9);
  });

  it('round-trips a spawn request, strings in UTF-8', () => {
    const [f] = decodeAll(encodeSpawn(7, spawnReq));
    expect(f!.type).toBe(REQ.spawn);
    expect(f!.id).toBe(7);
    expect(decodeSpawn(f!.payload)).toEqual(spawnReq);
  });

  it('refuses NUL bytes and an empty argv', () => {
    expect(() => encodeSpawn(1, { ...spawnReq, argv: ['a\0b'] })).toThrow(/NUL/);
    expect(() => encodeSpawn(1, { ...spawnReq, env: ['A=\0'] })).toThrow(/NUL/);
    expect(() => encodeSpawn(1, { ...spawnReq, argv: [] })).toThrow(/argv/);
  });

  it('sends data as a header followed by the bytes, uncopied', () => {
    const data = Buffer.from('hello');
    const h = encodeDataHeader(REQ.input, 3, 4, data.length);
    expect(h.length).toBe(HEADER_BYTES + 4);
    const [f] = decodeAll(Buffer.concat([h, data]));
    expect(f!.type).toBe(REQ.input);
    expect(f!.payload.readUInt32BE(0)).toBe(4);
    expect(f!.payload.subarray(4).toString()).toBe('hello');
  });

  it('decodes the same frames however the stream is cut', () => {
    const stream = Buffer.concat([
      encodeSpawn(1, spawnReq),
      encodeInts(MSG.spawned, 1, 4242),
      encodeDataHeader(MSG.data, 1, 1, 3),
      Buffer.from('abc'),
      encodeInts(MSG.eof, 1, 1),
      encodeInts(MSG.exit, 1, 0, 0),
    ]);
    const whole = decodeAll(stream);
    expect(whole.map((f) => f.type)).toEqual([REQ.spawn, MSG.spawned, MSG.data, MSG.eof, MSG.exit]);
    for (let cut = 1; cut < stream.length; cut++) expect(decodeAll(stream, [cut])).toEqual(whole);
    const byByte = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(decodeAll(stream, byByte)).toEqual(whole);
  });

  it('keeps a partial frame until the rest comes', () => {
    const d = new FrameDecoder();
    const frames: Frame[] = [];
    const f = encodeInts(MSG.ack, 2, 0, 100);
    d.push(f.subarray(0, 6), (x) => frames.push(x));
    expect(frames).toHaveLength(0);
    d.push(f.subarray(6), (x) => frames.push(x));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.payload.readUInt32BE(4)).toBe(100);
  });

  it('rejects a length too short or too long', () => {
    expect(() => decodeAll(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0]))).toThrow(/bad frame length 4/);
    expect(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 8, 0]), () => undefined)).toThrow(/bad frame length 2048/);
  });
});

describe('dial frames', () => {
  const req = { netns: '/run/krill/ns/ä/net', address: '::1', port: 65535, timeoutMs: 10_000 };

  it('round-trips a dial request', () => {
    const [f] = decodeAll(encodeDial(9, req));
    expect(f!.type).toBe(REQ.dial);
    expect(f!.id).toBe(9);
    expect(decodeDial(f!.payload)).toEqual(req);
    expect(decodeDial(decodeAll(encodeDial(1, { ...req, netns: '' }))[0]!.payload)).toEqual({ ...req, netns: '' });
  });

  it('refuses NUL bytes, ports and timeouts out of range', () => {
    expect(() => encodeDial(1, { ...req, netns: 'a\0b' })).toThrow(/NUL/);
    expect(() => encodeDial(1, { ...req, address: '127.0.0.1\0' })).toThrow(/NUL/);
    expect(() => encodeDial(1, { ...req, port: 0 })).toThrow(/port 0/);
    expect(() => encodeDial(1, { ...req, port: 65536 })).toThrow(/port 65536/);
    expect(() => encodeDial(1, { ...req, timeoutMs: -1 })).toThrow(/timeout/);
  });
});

// The server's side of the protocol is C: its enums and #defines must say what this side says.
describe('the spawn server and this side agree on every number', () => {
  const source = readFileSync(join(__dirname, '../../cmd/krill-spawn/krill-spawn.c'), 'utf8');

  /** NAME → value of every `enum { A = 1, B, ... }` member and `#define NAME <integer>` in the C source. */
  function cConstants(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of source.matchAll(/^enum\s*\{([^}]*)\};/gm)) {
      let next = 0;
      for (const member of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
        const [name, value] = member.split('=').map((x) => x.trim());
        next = value === undefined ? next : Number(value);
        out.set(name!, next);
        next++;
      }
    }
    for (const m of source.matchAll(/^#define\s+([A-Z][A-Z0-9_]*)\s+\(?(\d+|0x[0-9a-fA-F]+)(u?\s*<<\s*(\d+))?\)?u?\s*(\/\*.*)?$/gm)) {
      out.set(m[1]!, Number(m[2]) * 2 ** Number(m[4] ?? 0));
    }
    return out;
  }

  /** closeInput → CLOSE_INPUT */
  const cName = (prefix: string, key: string): string => `${prefix}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

  /** Every C constant with `prefix`, and the TS table's entries, side by side. */
  function pair(prefix: string, table: Record<string, number>): { c: Record<string, number>; ts: Record<string, number> } {
    const c: Record<string, number> = {};
    for (const [name, value] of cConstants()) if (name.startsWith(`${prefix}_`)) c[name] = value;
    const ts: Record<string, number> = {};
    for (const [key, value] of Object.entries(table)) ts[cName(prefix, key)] = value;
    return { c, ts };
  }

  it.each([
    ['REQ', REQ],
    ['MSG', MSG],
    ['MODE', FD_MODE],
    ['DIAL_STEP', DIAL_STEP],
  ] as const)('%s: the same names with the same values', (prefix, table) => {
    const { c, ts } = pair(prefix, table);
    expect(Object.keys(c).length).toBeGreaterThan(2);
    expect(ts).toEqual(c);
  });

  it('the flags of SPAWN and KILL: the same names with the same values', () => {
    const flags = /^(SPAWN|KILL)_[A-Z0-9_]+$/;
    const c = Object.fromEntries([...cConstants()].filter(([name]) => flags.test(name)));
    const ts = Object.fromEntries(Object.entries(protocol).filter(([name, value]) => flags.test(name) && typeof value === 'number'));
    expect(Object.keys(c).length).toBeGreaterThan(1);
    expect(ts).toEqual(c);
  });

  it('the socket fds and frame limits', () => {
    const c = cConstants();
    expect({ input: c.get('SOCKET_INPUT_FD'), output: c.get('SOCKET_OUTPUT_FD') }).toEqual(SOCKET_FD);
    expect(c.get('HEADER')).toBe(HEADER_BYTES);
    expect(c.get('MAX_FRAME')).toBe(MAX_FRAME_BYTES);
  });
});
