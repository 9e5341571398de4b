// SPDY/3 framing: an incremental decoder that turns bytes into frames and an
// encoder for the frames Krill sends. Header blocks go through one compression
// context per direction (compression.ts), so a codec belongs to one connection.
import { HeaderCompressor, HeaderDecompressor } from './compression';
import { decodeHeaderBlock, encodeHeaderBlock, DEFAULT_HEADER_LIMITS, type SpdyHeaders } from './headers';

export const SPDY_VERSION = 3;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11,
} as const;

export const GoAwayStatus = { Ok: 0, ProtocolError: 1, InternalError: 2 } as const;

/** The largest payload a frame's 24-bit length can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export type Frame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; slot: number; fin: boolean; unidirectional: boolean; headers: SpdyHeaders }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/** A violation that ends the connection (GOAWAY with PROTOCOL_ERROR). */
export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

export interface DecoderOptions {
  /** Largest control frame payload accepted (they are buffered whole). */
  maxControlPayload?: number;
  /** Largest decompressed header block. */
  maxHeaderBlock?: number;
}

const HEADER_BYTES = 8;

/** A queue of byte chunks that copies only when a read spans chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Removes and returns exactly n bytes (n <= length). */
  take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      this.length -= n;
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, filled, 0, want);
        this.chunks[0] = c.subarray(want);
        filled += want;
      }
    }
    this.length -= n;
    return out;
  }
}

/**
 * Turns received bytes into frames. A DATA frame's payload is handed out as it
 * arrives (several 'data' frames for one wire frame, the last one carrying
 * FIN), so a large frame is never buffered whole.
 */
export class FrameDecoder {
  private readonly queue = new ByteQueue();
  private readonly inflater: HeaderDecompressor;
  private readonly maxControlPayload: number;
  private readonly maxHeaderBlock: number;
  private data: { streamId: number; fin: boolean; remaining: number } | undefined;
  private controlHead: { type: number; flags: number; length: number } | undefined;
  private failed = false;

  constructor(opts: DecoderOptions = {}) {
    this.maxControlPayload = opts.maxControlPayload ?? 1 << 20;
    this.maxHeaderBlock = opts.maxHeaderBlock ?? DEFAULT_HEADER_LIMITS.maxFieldBytes;
    this.inflater = new HeaderDecompressor(this.maxHeaderBlock);
  }

  /** Adds bytes and returns every frame (or DATA piece) now complete. Throws SpdyProtocolError. */
  push(chunk: Buffer): Frame[] {
    if (this.failed) throw new SpdyProtocolError('decoder already failed');
    this.queue.push(chunk);
    const out: Frame[] = [];
    try {
      for (;;) {
        if (this.data) {
          const d = this.data;
          const n = Math.min(d.remaining, this.queue.length);
          if (n === 0 && d.remaining > 0) break;
          d.remaining -= n;
          const last = d.remaining === 0;
          if (last) this.data = undefined;
          out.push({ type: 'data', streamId: d.streamId, fin: last && d.fin, data: n > 0 ? this.queue.take(n) : Buffer.alloc(0) });
          continue;
        }
        if (this.controlHead) {
          const c = this.controlHead;
          if (this.queue.length < c.length) break;
          this.controlHead = undefined;
          out.push(this.control(c.type, c.flags, c.length > 0 ? this.queue.take(c.length) : Buffer.alloc(0)));
          continue;
        }
        if (this.queue.length < HEADER_BYTES) break;
        const head = this.queue.take(HEADER_BYTES);
        const word = head.readUInt32BE(0);
        const flags = head[4]!;
        const length = head.readUIntBE(5, 3);
        if ((word & 0x80000000) === 0) {
          const streamId = word & 0x7fffffff;
          if (streamId === 0) throw new SpdyProtocolError('DATA frame on stream 0');
          this.data = { streamId, fin: (flags & FLAG_FIN) !== 0, remaining: length };
          continue;
        }
        const version = (word >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        if (length > this.maxControlPayload) throw new SpdyProtocolError(`control frame of ${length} bytes exceeds the limit`);
        this.controlHead = { type: word & 0xffff, flags, length };
      }
    } catch (err) {
      this.failed = true;
      if (err instanceof SpdyProtocolError) throw err;
      throw new SpdyProtocolError((err as Error).message);
    }
    return out;
  }

  private control(type: number, flags: number, p: Buffer): Frame {
    const fin = (flags & FLAG_FIN) !== 0;
    const need = (n: number): void => {
      if (p.length < n) throw new SpdyProtocolError(`control frame type ${type} too short (${p.length} bytes)`);
    };
    const streamId = (): number => {
      need(4);
      const id = p.readUInt32BE(0) & 0x7fffffff;
      if (id === 0) throw new SpdyProtocolError(`control frame type ${type} on stream 0`);
      return id;
    };
    switch (type) {
      case FrameType.SynStream: {
        need(10);
        const id = streamId();
        return {
          type: 'syn_stream',
          streamId: id,
          associatedTo: p.readUInt32BE(4) & 0x7fffffff,
          priority: p[8]! >> 5,
          slot: p[9]!,
          fin,
          unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
          headers: this.headerBlock(p.subarray(10)),
        };
      }
      case FrameType.SynReply:
        return { type: 'syn_reply', streamId: streamId(), fin, headers: this.headerBlock(p.subarray(4)) };
      case FrameType.Headers:
        return { type: 'headers', streamId: streamId(), fin, headers: this.headerBlock(p.subarray(4)) };
      case FrameType.RstStream:
        need(8);
        return { type: 'rst_stream', streamId: streamId(), status: p.readUInt32BE(4) };
      case FrameType.Settings: {
        need(4);
        const count = p.readUInt32BE(0);
        if (count > (p.length - 4) / 8) throw new SpdyProtocolError('SETTINGS frame shorter than its entry count');
        const entries = [];
        for (let i = 0; i < count; i++) {
          const flagId = p.readUInt32BE(4 + i * 8);
          entries.push({ flags: flagId >>> 24, id: flagId & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
        }
        return { type: 'settings', clear: (flags & 0x01) !== 0, entries };
      }
      case FrameType.Ping:
        need(4);
        return { type: 'ping', id: p.readUInt32BE(0) };
      case FrameType.GoAway:
        need(4);
        return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.length >= 8 ? p.readUInt32BE(4) : 0 };
      case FrameType.WindowUpdate:
        need(8);
        return { type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, delta: p.readUInt32BE(4) & 0x7fffffff };
      default:
        return { type: 'unknown', frameType: type, flags, payload: p };
    }
  }

  private headerBlock(compressed: Buffer): SpdyHeaders {
    const block = this.inflater.decompress(compressed);
    return decodeHeaderBlock(block, { ...DEFAULT_HEADER_LIMITS, maxFieldBytes: this.maxHeaderBlock });
  }
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`control frame payload of ${payload.length} bytes is too large`);
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type);
  head[4] = flags;
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

function words(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** Builds frames for sending; header blocks share this encoder's compression context. */
export class FrameEncoder {
  private readonly deflater = new HeaderCompressor();

  /** DATA frame header followed by the payload (the caller splits payloads above MAX_FRAME_PAYLOAD). */
  data(streamId: number, data: Buffer, fin: boolean): Buffer {
    if (data.length > MAX_FRAME_PAYLOAD) throw new RangeError(`DATA payload of ${data.length} bytes is too large`);
    const head = Buffer.allocUnsafe(HEADER_BYTES);
    head.writeUInt32BE(streamId & 0x7fffffff);
    head[4] = fin ? FLAG_FIN : 0;
    head.writeUIntBE(data.length, 5, 3);
    return data.length === 0 ? head : Buffer.concat([head, data]);
  }

  synStream(f: { streamId: number; associatedTo?: number; priority?: number; fin?: boolean; unidirectional?: boolean; headers: SpdyHeaders }): Buffer {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(f.streamId & 0x7fffffff, 0);
    fixed.writeUInt32BE((f.associatedTo ?? 0) & 0x7fffffff, 4);
    fixed[8] = ((f.priority ?? 0) & 0x7) << 5;
    const flags = (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
    return controlFrame(FrameType.SynStream, flags, Buffer.concat([fixed, this.block(f.headers)]));
  }

  synReply(streamId: number, headers: SpdyHeaders, fin = false): Buffer {
    return controlFrame(FrameType.SynReply, fin ? FLAG_FIN : 0, Buffer.concat([words(streamId & 0x7fffffff), this.block(headers)]));
  }

  headers(streamId: number, headers: SpdyHeaders, fin = false): Buffer {
    return controlFrame(FrameType.Headers, fin ? FLAG_FIN : 0, Buffer.concat([words(streamId & 0x7fffffff), this.block(headers)]));
  }

  rstStream(streamId: number, status: number): Buffer {
    return controlFrame(FrameType.RstStream, 0, words(streamId & 0x7fffffff, status));
  }

  settings(entries: { flags?: number; id: number; value: number }[], clear = false): Buffer {
    const vals = [entries.length];
    for (const e of entries) vals.push((((e.flags ?? 0) & 0xff) << 24) | (e.id & 0xffffff), e.value);
    return controlFrame(FrameType.Settings, clear ? 0x01 : 0, words(...vals));
  }

  ping(id: number): Buffer {
    return controlFrame(FrameType.Ping, 0, words(id));
  }

  goAway(lastGoodStreamId: number, status: number = GoAwayStatus.Ok): Buffer {
    return controlFrame(FrameType.GoAway, 0, words(lastGoodStreamId & 0x7fffffff, status));
  }

  windowUpdate(streamId: number, delta: number): Buffer {
    return controlFrame(FrameType.WindowUpdate, 0, words(streamId & 0x7fffffff, delta & 0x7fffffff));
  }

  private block(headers: SpdyHeaders): Buffer {
    return this.deflater.compress(encodeHeaderBlock(headers));
  }
}
