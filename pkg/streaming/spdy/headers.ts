// The SPDY/3 name/value header block (before compression): a 32-bit pair
// count, then for each pair a 32-bit name length, the lowercase name, a 32-bit
// value length and the value, several values of one name joined by NUL.

/** Header values by lowercase name. */
export type SpdyHeaders = Record<string, string[]>;

export interface HeaderLimits {
  maxPairs: number;
  maxFieldBytes: number;
}

export const DEFAULT_HEADER_LIMITS: HeaderLimits = { maxPairs: 1000, maxFieldBytes: 1 << 20 };

export class HeaderBlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderBlockError';
  }
}

/** The first value of a header, looked up case-insensitively; '' when absent. */
export function headerValue(headers: SpdyHeaders, name: string): string {
  return headers[name.toLowerCase()]?.[0] ?? '';
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const names = Object.keys(headers);
  const parts: Buffer[] = [u32(names.length)];
  for (const name of names) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(headers[name]!.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): SpdyHeaders {
  let off = 0;
  const need = (n: number): void => {
    if (off + n > block.length) throw new HeaderBlockError('header block truncated');
  };
  const field = (): string => {
    need(4);
    const len = block.readUInt32BE(off);
    off += 4;
    if (len > limits.maxFieldBytes) throw new HeaderBlockError(`header field of ${len} bytes exceeds the limit`);
    need(len);
    const s = block.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  need(4);
  const pairs = block.readUInt32BE(0);
  off = 4;
  if (pairs > limits.maxPairs) throw new HeaderBlockError(`${pairs} header pairs exceed the limit`);
  const headers: SpdyHeaders = Object.create(null) as SpdyHeaders;
  for (let i = 0; i < pairs; i++) {
    const rawName = field();
    if (rawName.length === 0) throw new HeaderBlockError('empty header name');
    const name = rawName.toLowerCase();
    if (headers[name]) throw new HeaderBlockError(`duplicate header ${JSON.stringify(name)}`);
    headers[name] = field().split('\0');
  }
  if (off !== block.length) throw new HeaderBlockError('trailing bytes after the header block');
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
