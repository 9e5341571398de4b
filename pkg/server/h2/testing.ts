// Raw HTTP/2 client bytes for tests: frames and HPACK representations built
// by hand, so that a test controls indexing, Huffman coding, padding and framing.
import { encodeInteger, encodeRawString, type Indexing } from './hpack';
import { huffmanEncode } from './huffman';
import { CLIENT_PREFACE } from './rewriter';

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** The preface and an empty SETTINGS frame: what a client sends first. */
export function clientStart(): Buffer {
  return Buffer.concat([CLIENT_PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]);
}

function str(value: string, huffman: boolean): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  if (!huffman) return encodeRawString(bytes);
  const coded = huffmanEncode(bytes);
  return Buffer.concat([encodeInteger(coded.length, 7, 0x80), coded]);
}

const PREFIX: Record<Indexing, [bits: number, flags: number]> = { incremental: [6, 0x40], without: [4, 0x00], never: [4, 0x10] };

/** A literal field: `name` is a string (a literal name) or a table index. */
export function literal(indexing: Indexing, name: string | number, value: string, huffman = false): Buffer {
  const [bits, flags] = PREFIX[indexing];
  if (typeof name === 'number') return Buffer.concat([encodeInteger(name, bits, flags), str(value, huffman)]);
  return Buffer.concat([encodeInteger(0, bits, flags), str(name, huffman), str(value, huffman)]);
}

export function indexed(index: number): Buffer {
  return encodeInteger(index, 7, 0x80);
}

/** :method POST, :scheme http, :path `path` as static-table references and literals. */
export function requestStart(path = '/'): Buffer {
  return Buffer.concat([indexed(3), indexed(6), literal('without', 4, path)]);
}

export interface ParsedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits bytes (after the preface, if any) into frames; a trailing partial frame is left out. */
export function parseFrames(bytes: Buffer): ParsedFrame[] {
  let pos = bytes.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE) ? CLIENT_PREFACE.length : 0;
  const out: ParsedFrame[] = [];
  while (pos + 9 <= bytes.length) {
    const length = bytes.readUIntBE(pos, 3);
    if (pos + 9 + length > bytes.length) break;
    out.push({ type: bytes[pos + 3]!, flags: bytes[pos + 4]!, streamId: bytes.readUInt32BE(pos + 5) & 0x7fffffff, payload: bytes.subarray(pos + 9, pos + 9 + length) });
    pos += 9 + length;
  }
  return out;
}
