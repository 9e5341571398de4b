import * as http2 from 'node:http2';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorityAccepted } from './authority';
import { HpackDecoder, type Representation } from './hpack';
import { AuthorityRewriter, CLIENT_PREFACE, H2ProtocolError, headerFrames } from './rewriter';
import { AuthorityShim } from './shim';
import { FLAG, FRAME, clientStart, frame, indexed, literal, parseFrames, requestStart, type ParsedFrame } from './testing';

const SOCKET_PATH_AUTHORITY = '/run/krill/krill.sock';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-h2-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---- a real node:http2 server, reached through the shim or directly ----

interface TestServer {
  path: string;
  /** Headers of every request the server got. */
  seen: http2.IncomingHttpHeaders[];
  malformed: H2ProtocolError[];
  /** Every byte each client sent, before any rewriting, and when its connection closed. */
  received: { chunks: Buffer[]; closed: Promise<void> }[];
  close(): Promise<void>;
}

let serial = 0;
async function startServer(shim: boolean): Promise<TestServer> {
  const path = join(dir, `s${serial++}.sock`);
  const h2 = http2.createServer();
  const seen: http2.IncomingHttpHeaders[] = [];
  const malformed: H2ProtocolError[] = [];
  const received: TestServer['received'] = [];
  const sockets = new Set<Socket>();
  h2.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.respond({ ':status': 200 });
    stream.end(String(headers[':authority'] ?? headers.host));
  });
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const chunks: Buffer[] = [];
    received.push({ chunks, closed: new Promise((resolve) => socket.on('close', () => resolve())) });
    socket.on('data', (c: Buffer) => chunks.push(c));
    h2.emit('connection', shim ? new AuthorityShim(socket, { onMalformed: (err) => malformed.push(err) }) : socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    seen,
    malformed,
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      h2.close();
    },
  };
}

function h2Client(path: string): http2.ClientHttp2Session {
  const session = http2.connect('http://localhost', { createConnection: () => connect(path) });
  session.on('error', () => undefined);
  return session;
}

/** One request; resolves with the response body, rejects on a stream error. */
function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/', ...headers });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw client bytes; resolves with the frames the server sent once `done` says so (or the connection closed). */
function rawExchange(path: string, bytes: Buffer, done: (frames: ParsedFrame[]) => boolean): Promise<{ frames: ParsedFrame[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(path, () => socket.write(bytes));
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ frames: parseFrames(data), closed });
    };
    socket.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (done(parseFrames(data))) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

const answered = (streamId: number) => (frames: ParsedFrame[]) => frames.some((f) => f.streamId === streamId && (f.type === FRAME.RST_STREAM || (f.type === FRAME.DATA && f.flags & FLAG.END_STREAM)));

function fields(reps: Representation[]): [string, string][] {
  return reps.flatMap((r) => (r.type === 'size-update' ? [] : [[r.name, r.value] as [string, string]]));
}

/** Every header block in `bytes`, decoded in order by one decoder. */
function decodeBlocks(bytes: Buffer): Representation[][] {
  const decoder = new HpackDecoder({ maxTableSize: 65536 });
  const out: Representation[][] = [];
  let block: Buffer[] = [];
  for (const f of parseFrames(bytes)) {
    if (f.type !== FRAME.HEADERS && f.type !== FRAME.CONTINUATION) continue;
    let payload = f.payload;
    if (f.type === FRAME.HEADERS) {
      const pad = f.flags & FLAG.PADDED ? payload[0]! : 0;
      payload = payload.subarray((f.flags & FLAG.PADDED ? 1 : 0) + (f.flags & FLAG.PRIORITY ? 5 : 0), payload.length - pad);
    }
    block.push(payload);
    if (f.flags & FLAG.END_HEADERS) {
      out.push(decoder.decode(Buffer.concat(block)));
      block = [];
    }
  }
  return out;
}

function rewriteAll(input: Buffer, chunkSize = input.length): Buffer {
  const r = new AuthorityRewriter();
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunkSize) out.push(...r.push(input.subarray(i, i + chunkSize)));
  return Buffer.concat(out);
}

// ---- nghttp2's rules ----

test('the accepted-byte table is what nghttp2 accepts, byte for byte', async () => {
  const server = await startServer(false);
  try {
    const streams: Buffer[] = [];
    for (let b = 0; b < 256; b++) {
      const block = Buffer.concat([requestStart(), literal('without', 1, `a${String.fromCharCode(b)}b`)]);
      streams.push(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 2 * b + 1, block));
    }
    const { frames } = await rawExchange(server.path, Buffer.concat([clientStart(), ...streams]), (fs) => Array.from({ length: 256 }, (_, b) => answered(2 * b + 1)(fs)).every(Boolean));
    const refused = new Set(frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => (f.streamId - 1) / 2));
    for (let b = 0; b < 256; b++) expect([b, refused.has(b)]).toEqual([b, !authorityAccepted(`a${String.fromCharCode(b)}b`)]);
    expect(refused.has('/'.charCodeAt(0))).toBe(true);
  } finally {
    await server.close();
  }
});

// ---- a real client through the shim into a real server ----

describe('node:http2 client → shim → node:http2 server', () => {
  let direct: TestServer;
  let shimmed: TestServer;
  beforeAll(async () => {
    [direct, shimmed] = await Promise.all([startServer(false), startServer(true)]);
  });
  afterAll(async () => {
    await direct.close();
    await shimmed.close();
  });

  test('without the shim, the socket path as :authority is refused (the problem)', async () => {
    const session = h2Client(direct.path);
    try {
      await expect(request(session, { ':authority': SOCKET_PATH_AUTHORITY })).rejects.toMatchObject({ code: 'ERR_HTTP2_STREAM_ERROR' });
    } finally {
      session.close();
    }
  });

  test('with the shim, the socket path as :authority is served, again and again on one connection', async () => {
    const session = h2Client(shimmed.path);
    try {
      // The first request inserts the value into both dynamic tables (Huffman-coded by nghttp2);
      // the next ones refer to the entry by index.
      for (let i = 0; i < 3; i++) expect(await request(session, { ':authority': SOCKET_PATH_AUTHORITY })).toBe('-run-krill-krill.sock');
      expect(await request(session, { ':authority': 'localhost' })).toBe('localhost');
    } finally {
      session.close();
    }
    expect(shimmed.malformed).toEqual([]);
  });

  test('hundreds of authorities and headers, evicting entries all along, stay in step with the client', async () => {
    const session = h2Client(shimmed.path);
    try {
      const bodies = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          request(session, { ':authority': `/run/pod-${i}/${'x'.repeat(i % 97)}.sock`, 'x-n': String(i), [`x-${i % 7}`]: 'y'.repeat(i % 200) }),
        ),
      );
      bodies.forEach((body, i) => expect(body).toBe(`-run-pod-${i}-${'x'.repeat(i % 97)}.sock`));
    } finally {
      session.close();
    }
    expect(shimmed.malformed).toEqual([]);
  });

  test('a header block larger than a frame (CONTINUATION) with a rewritten authority', async () => {
    const session = h2Client(shimmed.path);
    try {
      expect(await request(session, { ':authority': '/big/one', 'x-big': 'z'.repeat(40_000) })).toBe('-big-one');
    } finally {
      session.close();
    }
  });

  test('client bytes that need no change reach the server byte for byte', async () => {
    const before = shimmed.received.length;
    const session = h2Client(shimmed.path);
    try {
      for (let i = 0; i < 5; i++) await request(session, { ':authority': `host-${i}:1234`, 'x-big': 'q'.repeat(i * 5000) });
    } finally {
      session.close();
    }
    await shimmed.received[before]!.closed;
    const input = Buffer.concat(shimmed.received[before]!.chunks);
    expect(rewriteAll(input).equals(input)).toBe(true);
  });

  test('the rewritten stream is the same whether bytes come whole or one at a time', async () => {
    const before = shimmed.received.length;
    const session = h2Client(shimmed.path);
    try {
      for (let i = 0; i < 4; i++) await request(session, { ':authority': `/sock/${i}`, 'x-pad': 'p'.repeat(i * 7000) });
    } finally {
      session.close();
    }
    await shimmed.received[before]!.closed;
    const input = Buffer.concat(shimmed.received[before]!.chunks);
    const whole = rewriteAll(input);
    expect(whole.equals(input)).toBe(false);
    for (const size of [1, 7, 9, 100, 4096]) expect(rewriteAll(input, size).equals(whole)).toBe(true);
    // Decoded, the only difference is the authority.
    const sent = decodeBlocks(input).map(fields);
    const got = decodeBlocks(whole).map(fields);
    expect(got).toEqual(sent.map((block) => block.map(([n, v]) => [n, n === ':authority' ? v.replace(/\//g, '-') : v])));
  });
});

// ---- hand-built blocks: every representation kind, framing flags ----

describe('hand-built requests through the shim into a real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(true);
  });
  afterAll(async () => server.close());

  test.each([
    ['incremental, indexed name, Huffman', literal('incremental', 1, '/a/b', true)],
    ['incremental, literal name, raw', literal('incremental', ':authority', '/a/b')],
    ['without indexing, Huffman', literal('without', 1, '/a/b', true)],
    ['never indexed, literal name, Huffman', literal('never', ':authority', '/a/b', true)],
    ['host only, incremental, Huffman', literal('incremental', 38, '/a/b', true)],
  ])('%s', async (_name, field) => {
    const block = Buffer.concat([requestStart(), field]);
    // Twice on one connection: the second block refers back by index where the first inserted.
    const again = field[0]! & 0x40 ? indexed(62) : field;
    const bytes = Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, block), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, Buffer.concat([requestStart(), again]))]);
    const { frames } = await rawExchange(server.path, bytes, (fs) => answered(1)(fs) && answered(3)(fs));
    expect(frames.filter((f) => f.type === FRAME.RST_STREAM)).toEqual([]);
    const bodies = frames.filter((f) => f.type === FRAME.DATA && f.payload.length > 0).map((f) => f.payload.toString());
    expect(bodies).toEqual(['-a-b', '-a-b']);
  });

  test('each representation keeps its indexing kind; the value becomes a raw literal of the same length', () => {
    for (const [kind, field] of [
      ['incremental', literal('incremental', 1, '/x/y', true)],
      ['without', literal('without', ':authority', '/x/y', true)],
      ['never', literal('never', 1, '/x/y')],
    ] as const) {
      const bytes = Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.concat([requestStart(), field]))]);
      const out = rewriteAll(bytes);
      const [reps] = decodeBlocks(out);
      const authority = reps!.find((r) => r.type === 'literal' && r.name === ':authority');
      expect(authority).toMatchObject({ indexing: kind, value: '-x-y' });
      if (authority?.type !== 'literal') throw new Error('no literal :authority');
      expect(parseFrames(out)[1]!.payload[authority.valueStart]).toBe(4); // H = 0, length 4
    }
  });

  test('PADDED is dropped and PRIORITY kept when a block is rewritten; the server takes it', async () => {
    const priority = Buffer.from([0, 0, 0, 0, 15]);
    const block = Buffer.concat([requestStart(), literal('incremental', 1, '/p/q', true)]);
    const padded = frame(FRAME.HEADERS, FLAG.PADDED | FLAG.PRIORITY | FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.concat([Buffer.from([6]), priority, block, Buffer.alloc(6)]));
    const out = parseFrames(rewriteAll(Buffer.concat([clientStart(), padded])));
    expect(out[1]).toMatchObject({ type: FRAME.HEADERS, flags: FLAG.PRIORITY | FLAG.END_HEADERS | FLAG.END_STREAM });
    expect(out[1]!.payload.subarray(0, 5)).toEqual(priority);
    const { frames } = await rawExchange(server.path, Buffer.concat([clientStart(), padded]), answered(1));
    expect(frames.find((f) => f.type === FRAME.DATA)?.payload.toString()).toBe('-p-q');
  });

  test('a block that grows past 16384 bytes is split into CONTINUATION frames', async () => {
    // The Huffman-coded authority (6 bits per '/') grows by a quarter as a raw literal.
    const block = Buffer.concat([requestStart(), literal('incremental', 1, '/'.repeat(4000), true), literal('without', 'x-fill', 'f'.repeat(13_000))]);
    expect(block.length).toBeLessThan(16384);
    const bytes = Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, block)]);
    const out = parseFrames(rewriteAll(bytes)).slice(1);
    expect(out.map((f) => [f.type, f.flags])).toEqual([
      [FRAME.HEADERS, FLAG.END_STREAM],
      [FRAME.CONTINUATION, FLAG.END_HEADERS],
    ]);
    expect(out[0]!.payload.length).toBe(16384);
    const { frames } = await rawExchange(server.path, bytes, answered(1));
    expect(frames.filter((f) => f.type === FRAME.DATA).map((f) => f.payload.toString()).join('')).toBe('-'.repeat(4000));
  });

  test('a block that came in HEADERS + CONTINUATION and needs a change is re-framed', async () => {
    const block = Buffer.concat([requestStart(), literal('incremental', 1, '/c/d', true)]);
    const bytes = Buffer.concat([
      clientStart(),
      frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 3)),
      frame(FRAME.CONTINUATION, 0, 1, block.subarray(3, 5)),
      frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(5)),
    ]);
    expect(parseFrames(rewriteAll(bytes)).slice(1).map((f) => [f.type, f.flags])).toEqual([[FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS]]);
    const { frames } = await rawExchange(server.path, bytes, answered(1));
    expect(frames.find((f) => f.type === FRAME.DATA)?.payload.toString()).toBe('-c-d');
  });

  test('malformed input closes that connection with a reason; the server keeps serving', async () => {
    const before = server.malformed.length;
    const bad = Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, indexed(70))]);
    const { closed } = await rawExchange(server.path, bad, () => false);
    expect(closed).toBe(true);
    expect(server.malformed.slice(before).map((e) => e.message)).toEqual([expect.stringContaining('HPACK: index 70')]);
    const session = h2Client(server.path);
    try {
      expect(await request(session, { ':authority': '/still/here' })).toBe('-still-here');
    } finally {
      session.close();
    }
  });
});

// ---- pure: pass-through, framing, errors ----

describe('AuthorityRewriter', () => {
  test('frames that are not header blocks pass through as the very chunk received', () => {
    const r = new AuthorityRewriter();
    const start = clientStart();
    expect(r.push(start)[0]).toBe(start);
    const data = Buffer.concat([frame(FRAME.DATA, 0, 1, Buffer.alloc(50_000, 1)), frame(FRAME.PING, 0, 0, Buffer.alloc(8)), frame(FRAME.WINDOW_UPDATE, 0, 0, Buffer.alloc(4))]);
    const out = r.push(data);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(data);
  });

  test('a block with an accepted authority is not copied either', () => {
    const r = new AuthorityRewriter();
    const bytes = Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.concat([requestStart(), literal('incremental', 1, 'localhost', true)])), frame(FRAME.DATA, 1, 1, Buffer.from('x'))]);
    const out = r.push(bytes);
    expect(out).toEqual([bytes]);
    expect(out[0]).toBe(bytes);
    expect(r.rewrites).toBe(0);
  });

  test('only the rewritten block is new; what is around it is sliced from the chunk', () => {
    const r = new AuthorityRewriter();
    const before = Buffer.concat([clientStart(), frame(FRAME.PING, 0, 0, Buffer.alloc(8))]);
    const headers = frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.concat([requestStart(), literal('without', 1, '/x')]));
    const after = frame(FRAME.DATA, 1, 1, Buffer.from('body'));
    const chunk = Buffer.concat([before, headers, after]);
    const out = r.push(chunk);
    expect(out[0]!.buffer).toBe(chunk.buffer);
    expect(out[0]).toEqual(before);
    expect(out[out.length - 1]!.buffer).toBe(chunk.buffer);
    expect(out[out.length - 1]).toEqual(after);
    expect(r.rewrites).toBe(1);
  });

  test('headerFrames splits at 16384 and marks only the last frame END_HEADERS', () => {
    const frames = parseFrames(Buffer.concat(headerFrames(5, FLAG.END_STREAM | FLAG.PADDED, undefined, Buffer.alloc(40_000))));
    expect(frames.map((f) => [f.type, f.flags, f.streamId, f.payload.length])).toEqual([
      [FRAME.HEADERS, FLAG.END_STREAM, 5, 16384],
      [FRAME.CONTINUATION, 0, 5, 16384],
      [FRAME.CONTINUATION, FLAG.END_HEADERS, 5, 40_000 - 2 * 16384],
    ]);
  });

  const start = clientStart();
  test.each([
    ['not HTTP/2', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'preface'],
    ['bad HPACK', Buffer.concat([start, frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, indexed(99))]), 'HPACK'],
    ['Huffman padding of zeros', Buffer.concat([start, frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.from([0x41, 0x81, 0x00]))]), 'HPACK'],
    ['CONTINUATION with no HEADERS', Buffer.concat([start, frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, indexed(2))]), 'outside its header block'],
    ['a DATA frame inside a header block', Buffer.concat([start, frame(FRAME.HEADERS, 0, 1, indexed(2)), frame(FRAME.DATA, 0, 1, Buffer.alloc(1))]), 'inside the header block'],
    ['CONTINUATION of another stream', Buffer.concat([start, frame(FRAME.HEADERS, 0, 1, indexed(2)), frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 3, indexed(2))]), 'outside its header block'],
    ['PUSH_PROMISE from a client', Buffer.concat([start, frame(FRAME.PUSH_PROMISE, FLAG.END_HEADERS, 1, Buffer.alloc(4))]), 'PUSH_PROMISE'],
    ['padding longer than the frame', Buffer.concat([start, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.PADDED, 1, Buffer.from([9, 0x82]))]), 'padding'],
    ['HEADERS on stream 0', Buffer.concat([start, frame(FRAME.HEADERS, FLAG.END_HEADERS, 0, indexed(2))]), 'stream 0'],
  ])('%s is an H2ProtocolError', (_name, bytes, message) => {
    const r = new AuthorityRewriter();
    expect(() => r.push(bytes)).toThrow(H2ProtocolError);
    expect(() => r.push(Buffer.alloc(1))).toThrow(message);
  });

  test('a header block over the cap is refused before it is buffered whole', () => {
    const r = new AuthorityRewriter({ maxHeaderBlockBytes: 40_000 });
    r.push(Buffer.concat([start, frame(FRAME.HEADERS, 0, 1, Buffer.alloc(16384, 0x82))]));
    const continuation = frame(FRAME.CONTINUATION, 0, 1, Buffer.alloc(16384, 0x82));
    r.push(continuation.subarray(0, 100));
    expect(r.push(continuation.subarray(100))).toEqual([]);
    // The third frame's header says the block would pass the cap.
    expect(() => r.push(continuation.subarray(0, 9))).toThrow('header block larger than 40000 bytes');
  });

  test('the preface may arrive a byte at a time', () => {
    const r = new AuthorityRewriter();
    const out: Buffer[] = [];
    for (const b of CLIENT_PREFACE) out.push(...r.push(Buffer.from([b])));
    expect(Buffer.concat(out)).toEqual(CLIENT_PREFACE);
  });
});
