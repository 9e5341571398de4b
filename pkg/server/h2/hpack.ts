// An HPACK decoder (RFC 7541) that follows a peer's encoder state and reports
// where each representation sits in the block, so that a caller can re-emit
// one of them. Names and values are latin1 strings: one char per byte.
import { HuffmanError, huffmanDecode } from './huffman';

export class HpackError extends Error {
  override name = 'HpackError';
}

/** RFC 7541 §6.2: how a literal field relates to the dynamic table. */
export type Indexing = 'incremental' | 'without' | 'never';

export interface IndexedField {
  type: 'indexed';
  name: string;
  value: string;
  /** The representation is block[start, end). */
  start: number;
  end: number;
}

export interface LiteralField {
  type: 'literal';
  indexing: Indexing;
  name: string;
  value: string;
  start: number;
  /** Where the value's string literal (its H bit and length) begins. */
  valueStart: number;
  end: number;
}

export interface SizeUpdate {
  type: 'size-update';
  size: number;
  start: number;
  end: number;
}

export type Representation = IndexedField | LiteralField | SizeUpdate;

/** RFC 7541 Appendix A. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** RFC 7541 §4.1: an entry's size counts 32 bytes of overhead. */
const ENTRY_OVERHEAD = 32;
/** SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2). */
export const DEFAULT_TABLE_SIZE = 4096;
/** nghttp2 reads integers of at most 5 continuation bytes that fit in 32 bits. */
const MAX_INTEGER = 0xffffffff;
const MAX_SHIFT = 28;

interface Entry {
  name: string;
  value: string;
  size: number;
}

/** The decoder's dynamic table (RFC 7541 §2.3.2, §4): newest entry first in index order. */
class DynamicTable {
  /** Oldest first; entries[length - 1] is index 62. */
  private entries: Entry[] = [];
  private head = 0;
  size = 0;

  constructor(public maxSize: number) {}

  get length(): number {
    return this.entries.length - this.head;
  }

  /** The entry at dynamic index i (1 = newest). */
  at(i: number): Entry | undefined {
    return i >= 1 && i <= this.length ? this.entries[this.entries.length - i] : undefined;
  }

  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evictTo(this.maxSize - size);
    // An entry larger than the table empties it and is not added (§4.4).
    if (size > this.maxSize) return;
    this.entries.push({ name, value, size });
    this.size += size;
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  private evictTo(limit: number): void {
    while (this.size > Math.max(limit, 0) && this.length > 0) {
      this.size -= this.entries[this.head]!.size;
      this.head++;
    }
    // Compact now and then rather than shifting on every eviction.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

export interface HpackDecoderOptions {
  /** The dynamic table's size before any size update: the receiver's SETTINGS_HEADER_TABLE_SIZE (default 4096). */
  tableSize?: number;
  /** The largest size a size update may set (default: tableSize). */
  maxTableSize?: number;
}

/** Decodes the header blocks of one direction of one connection, in order. */
export class HpackDecoder {
  private readonly table: DynamicTable;
  private readonly maxTableSize: number;

  constructor(opts: HpackDecoderOptions = {}) {
    const size = opts.tableSize ?? DEFAULT_TABLE_SIZE;
    this.table = new DynamicTable(size);
    this.maxTableSize = Math.max(opts.maxTableSize ?? size, size);
  }

  /** The dynamic table's current maximum size and the bytes its entries take. */
  get tableSize(): { max: number; used: number } {
    return { max: this.table.maxSize, used: this.table.size };
  }

  /** The dynamic table's entries, newest first (index 62 first). */
  dynamicEntries(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 1; i <= this.table.length; i++) {
      const e = this.table.at(i)!;
      out.push([e.name, e.value]);
    }
    return out;
  }

  /**
   * Decodes one complete header block, updating the dynamic table as the
   * encoder did. Throws HpackError on anything RFC 7541 calls a decoding
   * error; the table is then unusable, as is the connection.
   */
  decode(block: Uint8Array): Representation[] {
    const reader = new Reader(block);
    const out: Representation[] = [];
    let fieldSeen = false;
    while (!reader.done) {
      const start = reader.pos;
      const first = block[start]!;
      if (first & 0x80) {
        const index = reader.integer(7);
        const [name, value] = this.lookup(index);
        out.push({ type: 'indexed', name, value, start, end: reader.pos });
        fieldSeen = true;
      } else if ((first & 0xe0) === 0x20) {
        // §4.2: only at the beginning of a block.
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const size = reader.integer(5);
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update to ${size} exceeds ${this.maxTableSize}`);
        this.table.resize(size);
        out.push({ type: 'size-update', size, start, end: reader.pos });
      } else {
        const incremental = (first & 0xc0) === 0x40;
        const indexing: Indexing = incremental ? 'incremental' : first & 0x10 ? 'never' : 'without';
        const index = reader.integer(incremental ? 6 : 4);
        const name = index === 0 ? reader.string() : this.lookup(index)[0];
        const valueStart = reader.pos;
        const value = reader.string();
        if (incremental) this.table.add(name, value);
        out.push({ type: 'literal', indexing, name, value, start, valueStart, end: reader.pos });
        fieldSeen = true;
      }
    }
    return out;
  }

  private lookup(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const entry = this.table.at(index - STATIC_TABLE.length);
    if (!entry) throw new HpackError(`index ${index} is beyond the dynamic table (${this.table.length} entries)`);
    return [entry.name, entry.value];
  }
}

class Reader {
  pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new HpackError('truncated header block');
    return this.buf[this.pos++]!;
  }

  /** RFC 7541 §5.1. */
  integer(prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = this.byte() & max;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      if (shift > MAX_SHIFT) throw new HpackError('integer too long');
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) throw new HpackError('integer overflows 32 bits');
      if ((b & 0x80) === 0) return value;
    }
  }

  /** RFC 7541 §5.2. */
  string(): string {
    const huffman = (this.buf[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    if (length > this.buf.length - this.pos) throw new HpackError('string literal runs past the header block');
    const start = this.pos;
    this.pos += length;
    if (!huffman) return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, length).toString('latin1');
    try {
      return huffmanDecode(this.buf, start, this.pos).toString('latin1');
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }
}

/** RFC 7541 §5.1: `value` with an N-bit prefix; `flags` fills the first byte's high bits. */
export function encodeInteger(value: number, prefixBits: number, flags = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const bytes = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A string literal without Huffman coding (§5.2, H = 0). */
export function encodeRawString(bytes: Uint8Array): Buffer {
  return Buffer.concat([encodeInteger(bytes.length, 7), bytes]);
}
