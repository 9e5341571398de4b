// The wire format between krilld and its spawn server (cmd/krill-spawn, whose
// header comment is the reference): frames of
//   u32 length (of what follows) | u8 type | u32 id | payload, big-endian.
// Pure: encoding and decoding only.

// The same numbers as the enums of cmd/krill-spawn/krill-spawn.c (spawner_protocol.test.ts compares them).
export const REQ = { spawn: 1, input: 2, closeInput: 3, closeOutput: 4, pause: 5, resume: 6, kill: 7, dial: 8 } as const;
export const MSG = { spawned: 0x81, spawnError: 0x82, data: 0x83, eof: 0x84, ack: 0x85, inputError: 0x86, exit: 0x87, dialed: 0x88, dialError: 0x89 } as const;
export const FD_MODE = { null: 0, output: 1, input: 2 } as const;
/** Which step of a dial failed (DIAL_ERROR). */
export const DIAL_STEP = { address: 1, netns: 2, socket: 3, connect: 4 } as const;
/** The fd numbers of a dialled socket's two directions. */
export const SOCKET_FD = { input: 0, output: 1 } as const;
export const SPAWN_SETSID = 1;
/** The child runs with umask 022 instead of krilld's 077 (the container runtime). */
export const SPAWN_UMASK_022 = 2;
export const KILL_GROUP = 1;

/** Frame header: length, type and id. */
export const HEADER_BYTES = 9;
/** The server refuses larger frames; spawn requests are the only big ones (argv + env). */
export const MAX_FRAME_BYTES = 16 << 20;

/** Input bytes krilld may have sent to one pipe that the server has not yet written. */
export const INPUT_WINDOW = 1 << 20;
/** Input is sent in frames of at most this many bytes. */
export const INPUT_FRAME = 64 << 10;

export type FdMode = (typeof FD_MODE)[keyof typeof FD_MODE];

export interface SpawnRequest {
  file: string;
  /** '' keeps the server's working directory. */
  cwd: string;
  argv: readonly string[];
  env: readonly string[];
  setsid: boolean;
  /** umask 022 instead of the server's own. */
  umask022: boolean;
  /** The child's fds 0..n-1. */
  fds: readonly FdMode[];
}

export type DialStep = (typeof DIAL_STEP)[keyof typeof DIAL_STEP];

export interface DialRequest {
  /** A network namespace file (/run/krill/ns/<pod>/net); '' for the server's own. */
  netns: string;
  /** A numeric loopback address, IPv4 (127.0.0.0/8) or IPv6 (::1). */
  address: string;
  port: number;
  /** 0 leaves it to the kernel. */
  timeoutMs: number;
}

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

function header(type: number, id: number, payloadBytes: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  b.writeUInt32BE(5 + payloadBytes, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32BE(id, 5);
  return b;
}

/** A frame whose payload is the given 32-bit integers (signed ones are written as their two's complement). */
export function encodeInts(type: number, id: number, ...ints: number[]): Buffer {
  const b = header(type, id, ints.length * 4);
  ints.forEach((v, i) => b.writeUInt32BE(v >>> 0, HEADER_BYTES + i * 4));
  return b;
}

/** A frame of an fd number and bytes: the header part alone, so that the bytes need not be copied. */
export function encodeDataHeader(type: number, id: number, fd: number, bytes: number): Buffer {
  const b = header(type, id, 4 + bytes);
  b.writeUInt32BE(fd, HEADER_BYTES);
  return b.subarray(0, HEADER_BYTES + 4);
}

export function encodeSpawn(id: number, req: SpawnRequest): Buffer {
  const strings = [req.file, req.cwd, ...req.argv, ...req.env];
  let bytes = 8 + req.fds.length + 8;
  for (const s of strings) {
    if (s.includes('\0')) throw new TypeError(`spawn argument must not contain NUL bytes: ${JSON.stringify(s.slice(0, 80))}`);
    bytes += Buffer.byteLength(s) + 1;
  }
  if (req.argv.length === 0) throw new TypeError('spawn needs argv[0]');
  if (HEADER_BYTES - 4 + bytes > MAX_FRAME_BYTES) throw new RangeError(`spawn request of ${bytes} bytes is too large`);
  const b = header(REQ.spawn, id, bytes);
  let o = HEADER_BYTES;
  o = b.writeUInt32BE((req.setsid ? SPAWN_SETSID : 0) | (req.umask022 ? SPAWN_UMASK_022 : 0), o);
  o = b.writeUInt32BE(req.fds.length, o);
  for (const m of req.fds) o = b.writeUInt8(m, o);
  o = b.writeUInt32BE(req.argv.length, o);
  o = b.writeUInt32BE(req.env.length, o);
  for (const s of strings) {
    o += b.write(s, o, 'utf8');
    b[o++] = 0;
  }
  return b;
}

/** The inverse of encodeSpawn (the server's reading of it), for tests. */
export function decodeSpawn(payload: Buffer): SpawnRequest {
  const flags = payload.readUInt32BE(0);
  const n = payload.readUInt32BE(4);
  const fds = [...payload.subarray(8, 8 + n)] as FdMode[];
  let o = 8 + n;
  const argc = payload.readUInt32BE(o);
  const envc = payload.readUInt32BE(o + 4);
  o += 8;
  const strings: string[] = [];
  while (o < payload.length) {
    const nul = payload.indexOf(0, o);
    if (nul < 0) throw new Error('unterminated string');
    strings.push(payload.toString('utf8', o, nul));
    o = nul + 1;
  }
  if (strings.length !== 2 + argc + envc) throw new Error(`expected ${2 + argc + envc} strings, found ${strings.length}`);
  return { file: strings[0]!, cwd: strings[1]!, argv: strings.slice(2, 2 + argc), env: strings.slice(2 + argc), setsid: (flags & SPAWN_SETSID) !== 0, umask022: (flags & SPAWN_UMASK_022) !== 0, fds };
}

export function encodeDial(id: number, req: DialRequest): Buffer {
  for (const s of [req.address, req.netns]) {
    if (s.includes('\0')) throw new TypeError(`dial argument must not contain NUL bytes: ${JSON.stringify(s.slice(0, 80))}`);
  }
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) throw new RangeError(`dial port ${req.port} is out of range`);
  if (!Number.isInteger(req.timeoutMs) || req.timeoutMs < 0 || req.timeoutMs > 0xffffffff) throw new RangeError(`dial timeout ${req.timeoutMs} ms is out of range`);
  const bytes = 8 + Buffer.byteLength(req.address) + 1 + Buffer.byteLength(req.netns) + 1;
  if (HEADER_BYTES - 4 + bytes > MAX_FRAME_BYTES) throw new RangeError(`dial request of ${bytes} bytes is too large`);
  const b = header(REQ.dial, id, bytes);
  let o = HEADER_BYTES;
  o = b.writeUInt32BE(req.port, o);
  o = b.writeUInt32BE(req.timeoutMs, o);
  for (const s of [req.address, req.netns]) {
    o += b.write(s, o, 'utf8');
    b[o++] = 0;
  }
  return b;
}

/** The inverse of encodeDial, for tests. */
export function decodeDial(payload: Buffer): DialRequest {
  const port = payload.readUInt32BE(0);
  const timeoutMs = payload.readUInt32BE(4);
  const nul = payload.indexOf(0, 8);
  if (nul < 0 || payload[payload.length - 1] !== 0) throw new Error('unterminated string');
  return { port, timeoutMs, address: payload.toString('utf8', 8, nul), netns: payload.toString('utf8', nul + 1, payload.length - 1) };
}

/** The payload's i-th 32-bit integer, signed. */
export function intAt(payload: Buffer, i: number): number {
  return payload.readInt32BE(i * 4);
}

/**
 * Splits a byte stream back into frames. Payloads are views of the chunks
 * pushed (no copy) unless a frame spans chunks.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame = MAX_FRAME_BYTES) {}

  /** Feeds bytes; calls `onFrame` for every complete frame, in order. Throws on a malformed length. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len < 5 || len > this.maxFrame) throw new Error(`spawn server protocol: bad frame length ${len}`);
      if (this.buffered < 4 + len) return;
      const frame = this.take(4 + len);
      onFrame({ type: frame[4]!, id: frame.readUInt32BE(5), payload: frame.subarray(HEADER_BYTES) });
    }
  }

  /** The first n buffered bytes, contiguous (n <= buffered). */
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    this.buffered -= n;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    this.chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
}
