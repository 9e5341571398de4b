// Rewrites the client-to-server bytes of one HTTP/2 connection so that a
// server built on nghttp2 accepts any :authority (and host) the client sends.
//
// Everything but header blocks passes through untouched (as slices of the
// chunks received). Each header block (HEADERS + CONTINUATION) is decoded with
// an HPACK decoder that follows the client's encoder. A literal :authority or
// host whose value nghttp2 would refuse is re-emitted with the same indexing
// kind and a value of the same length (refused bytes replaced, no Huffman
// coding). Same length means the same dynamic-table entry sizes, so the
// server's table evicts exactly what the client's does and every later index
// the client sends means the same entry to both. Blocks that need no change
// go through byte for byte.
import { authorityAccepted, sanitizeAuthority } from './authority';
import { HpackDecoder, HpackError, encodeRawString, type LiteralField } from './hpack';

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const FRAME_HEADER_BYTES = 9;
const HEADERS = 0x1;
const PUSH_PROMISE = 0x5;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const PRIORITY_BYTES = 5;
/** Every HTTP/2 peer accepts frames of this size (RFC 9113 §4.2). */
const MIN_MAX_FRAME_SIZE = 16384;
const EMPTY = Buffer.alloc(0);

/** The client broke HTTP/2 or HPACK; the connection cannot go on. */
export class H2ProtocolError extends Error {
  override name = 'H2ProtocolError';
}

export interface RewriterOptions {
  /**
   * Largest header block accepted, in bytes of HEADERS + CONTINUATION payload
   * (default 256 KiB: four times Node's default limit on the decoded list, so
   * nothing the server would take is refused here).
   */
  maxHeaderBlockBytes?: number;
  /**
   * Largest HPACK table size the client may switch to (default 64 KiB; Node's
   * server advertises 4096 and resets a connection that goes beyond).
   */
  maxTableSize?: number;
}

interface HeaderBlock {
  streamId: number;
  /** Flags of the HEADERS frame. */
  flags: number;
  priority: Buffer | undefined;
  fragments: Buffer[];
  /** The frames as received, for when nothing changes. */
  frames: Buffer[];
  bytes: number;
}

interface PartialFrame {
  header: Buffer;
  type: number;
  flags: number;
  streamId: number;
  chunks: Buffer[];
  missing: number;
}

export class AuthorityRewriter {
  /** Header fields rewritten so far. */
  rewrites = 0;
  private readonly decoder: HpackDecoder;
  private readonly maxBlock: number;
  private prefaceSeen = 0;
  private readonly head = Buffer.alloc(FRAME_HEADER_BYTES);
  private headBytes = 0;
  /** Payload bytes still to pass through for a frame that is not a header frame. */
  private passing = 0;
  private partial: PartialFrame | undefined;
  private block: HeaderBlock | undefined;
  private failed: H2ProtocolError | undefined;
  // Output of the current push(): a run of the current chunk kept as [start, end) until something else is emitted.
  private out: Buffer[] = [];
  private chunk: Buffer = EMPTY;
  private runStart = 0;
  private runEnd = 0;

  constructor(opts: RewriterOptions = {}) {
    this.maxBlock = opts.maxHeaderBlockBytes ?? 256 * 1024;
    this.decoder = new HpackDecoder({ maxTableSize: opts.maxTableSize ?? 64 * 1024 });
  }

  /**
   * Takes the next bytes from the client; returns what to hand the server, in
   * order (often `chunk` itself or slices of it). Throws H2ProtocolError on
   * malformed input, and again on every later call.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    this.chunk = chunk;
    this.out = [];
    this.runStart = this.runEnd = 0;
    try {
      this.consume(chunk);
    } catch (err) {
      this.failed = err instanceof H2ProtocolError ? err : new H2ProtocolError(err instanceof Error ? err.message : String(err));
      throw this.failed;
    }
    this.flushRun();
    const out = this.out;
    this.out = [];
    this.chunk = EMPTY;
    return out;
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.prefaceSeen < CLIENT_PREFACE.length) {
        const n = Math.min(CLIENT_PREFACE.length - this.prefaceSeen, end - pos);
        if (chunk.compare(CLIENT_PREFACE, this.prefaceSeen, this.prefaceSeen + n, pos, pos + n) !== 0) {
          throw new H2ProtocolError('not an HTTP/2 client connection preface');
        }
        this.pass(pos, pos + n);
        this.prefaceSeen += n;
        pos += n;
      } else if (this.passing > 0) {
        const n = Math.min(this.passing, end - pos);
        this.pass(pos, pos + n);
        this.passing -= n;
        pos += n;
      } else if (this.partial) {
        const p = this.partial;
        const n = Math.min(p.missing, end - pos);
        p.chunks.push(Buffer.from(chunk.subarray(pos, pos + n)));
        p.missing -= n;
        pos += n;
        if (p.missing === 0) {
          this.partial = undefined;
          const payload = Buffer.concat(p.chunks);
          this.headerFrame(p.type, p.flags, p.streamId, payload, Buffer.concat([p.header, payload]), -1);
        }
      } else if (this.headBytes > 0 || end - pos < FRAME_HEADER_BYTES) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headBytes, end - pos);
        chunk.copy(this.head, this.headBytes, pos, pos + n);
        this.headBytes += n;
        pos += n;
        if (this.headBytes === FRAME_HEADER_BYTES) {
          this.headBytes = 0;
          pos = this.frame(Buffer.from(this.head), -1, pos);
        }
      } else {
        pos = this.frame(chunk.subarray(pos, pos + FRAME_HEADER_BYTES), pos, pos + FRAME_HEADER_BYTES);
      }
    }
  }

  /**
   * A frame header; `at` is where the frame starts in the current chunk (-1:
   * the header came in pieces), `pos` where its payload starts. Returns the
   * position after what was consumed.
   */
  private frame(header: Buffer, at: number, pos: number): number {
    const length = header.readUIntBE(0, 3);
    const type = header[3]!;
    const flags = header[4]!;
    const streamId = header.readUInt32BE(5) & 0x7fffffff;
    if (this.block && type !== CONTINUATION) throw new H2ProtocolError(`a frame of type ${type} inside the header block of stream ${this.block.streamId}`);
    if (type === PUSH_PROMISE) throw new H2ProtocolError('PUSH_PROMISE from a client');
    if (type !== HEADERS && type !== CONTINUATION) {
      if (at >= 0) this.pass(at, pos);
      else this.emit(header);
      this.passing = length;
      return pos;
    }
    if (type === CONTINUATION && (!this.block || this.block.streamId !== streamId)) {
      throw new H2ProtocolError(`CONTINUATION of stream ${streamId} outside its header block`);
    }
    if (type === HEADERS && streamId === 0) throw new H2ProtocolError('HEADERS on stream 0');
    if ((this.block?.bytes ?? 0) + length > this.maxBlock) throw new H2ProtocolError(`header block larger than ${this.maxBlock} bytes`);
    if (at >= 0 && this.chunk.length - pos >= length) {
      this.headerFrame(type, flags, streamId, this.chunk.subarray(pos, pos + length), this.chunk.subarray(at, pos + length), at);
      return pos + length;
    }
    if (length === 0) this.headerFrame(type, flags, streamId, EMPTY, header, -1);
    else this.partial = { header: Buffer.from(header), type, flags, streamId, chunks: [], missing: length };
    return pos;
  }

  /** A whole HEADERS or CONTINUATION frame; `at` as in frame(). */
  private headerFrame(type: number, flags: number, streamId: number, payload: Buffer, frame: Buffer, at: number): void {
    if (type === CONTINUATION) {
      const block = this.block!;
      block.fragments.push(payload);
      block.frames.push(frame);
      block.bytes += payload.length;
      if (flags & END_HEADERS) this.finish(block, -1);
      return;
    }
    let offset = 0;
    let padding = 0;
    if (flags & PADDED) {
      if (payload.length < 1) throw new H2ProtocolError('PADDED HEADERS frame without a pad length');
      padding = payload[0]!;
      offset = 1;
    }
    let priority: Buffer | undefined;
    if (flags & PRIORITY) {
      if (payload.length < offset + PRIORITY_BYTES) throw new H2ProtocolError('HEADERS frame too short for its priority');
      priority = payload.subarray(offset, offset + PRIORITY_BYTES);
      offset += PRIORITY_BYTES;
    }
    if (padding > payload.length - offset) throw new H2ProtocolError('HEADERS padding longer than the frame');
    const block: HeaderBlock = { streamId, flags, priority, fragments: [payload.subarray(offset, payload.length - padding)], frames: [frame], bytes: payload.length };
    if (flags & END_HEADERS) this.finish(block, at);
    else this.block = block;
  }

  /** A complete header block: decode it, and emit it as it came or rewritten. */
  private finish(block: HeaderBlock, at: number): void {
    this.block = undefined;
    const data = block.fragments.length === 1 ? block.fragments[0]! : Buffer.concat(block.fragments);
    let edits: LiteralField[];
    try {
      edits = this.decoder.decode(data).filter((r): r is LiteralField => r.type === 'literal' && (r.name === ':authority' || r.name === 'host') && r.value.length > 0 && !authorityAccepted(r.value));
    } catch (err) {
      if (err instanceof HpackError) throw new H2ProtocolError(`HPACK: ${err.message}`);
      throw err;
    }
    if (edits.length === 0) {
      const frame = block.frames[0]!;
      if (at >= 0) this.pass(at, at + frame.length);
      else for (const f of block.frames) this.emit(f);
      return;
    }
    const parts: Buffer[] = [];
    let last = 0;
    for (const edit of edits) {
      parts.push(data.subarray(last, edit.valueStart), encodeRawString(sanitizeAuthority(edit.value)));
      last = edit.end;
    }
    parts.push(data.subarray(last));
    this.rewrites += edits.length;
    for (const f of headerFrames(block.streamId, block.flags, block.priority, Buffer.concat(parts))) this.emit(f);
  }

  private pass(start: number, end: number): void {
    if (this.runEnd === start && this.runEnd > this.runStart) {
      this.runEnd = end;
      return;
    }
    this.flushRun();
    this.runStart = start;
    this.runEnd = end;
  }

  private emit(buf: Buffer): void {
    this.flushRun();
    this.out.push(buf);
  }

  private flushRun(): void {
    if (this.runEnd > this.runStart) {
      this.out.push(this.runStart === 0 && this.runEnd === this.chunk.length ? this.chunk : this.chunk.subarray(this.runStart, this.runEnd));
    }
    this.runStart = this.runEnd = 0;
  }
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return h;
}

/**
 * A header block as HEADERS (+ CONTINUATION) frames of at most 16384 bytes:
 * END_STREAM and PRIORITY kept, padding dropped, END_HEADERS on the last.
 */
export function headerFrames(streamId: number, flags: number, priority: Buffer | undefined, block: Buffer): Buffer[] {
  const room = MIN_MAX_FRAME_SIZE - (priority ? PRIORITY_BYTES : 0);
  const first = block.subarray(0, room);
  const done = block.length <= room;
  const headersFlags = (flags & (END_STREAM | PRIORITY)) | (done ? END_HEADERS : 0);
  const frames = [frameHeader(first.length + (priority ? PRIORITY_BYTES : 0), HEADERS, headersFlags, streamId)];
  if (priority) frames.push(priority);
  frames.push(first);
  for (let offset = room; offset < block.length; offset += MIN_MAX_FRAME_SIZE) {
    const piece = block.subarray(offset, offset + MIN_MAX_FRAME_SIZE);
    frames.push(frameHeader(piece.length, CONTINUATION, offset + MIN_MAX_FRAME_SIZE >= block.length ? END_HEADERS : 0, streamId), piece);
  }
  return frames;
}
