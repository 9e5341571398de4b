// A streaming tar reader: ustar, GNU (long names 'L'/'K', base-256 numbers)
// and PAX (extended and global headers, SCHILY.xattr.*) as image layers use
// them. Entry bodies are handed out as they arrive; nothing is buffered
// beyond the chunk in hand.
import { LayerLimitError } from './unpack_limits';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** The path as written in the archive (after PAX/GNU long-name overrides). */
  name: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch; PAX gives fractions. */
  mtime: number;
  atime?: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes by name (from PAX SCHILY.xattr.* / LIBARCHIVE.xattr.*). */
  xattrs: Map<string, Buffer>;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

const BLOCK = 512;
const MAX_META_BYTES = 1024 * 1024;
/** Records in one PAX header: real entries carry a handful (path, times, ids, a few xattrs). */
const MAX_PAX_RECORDS = 1024;
/**
 * Global PAX headers apply to every entry after them, so each of their
 * records costs a little on every entry: bounded in number, bytes and keys.
 * Real layers carry none (git archive writes one, with a comment).
 */
const MAX_GLOBAL_HEADERS = 16;
const MAX_GLOBAL_BYTES = 64 * 1024;
const MAX_GLOBAL_KEYS = 64;

/** Pulls exact byte counts out of an async stream of chunks. */
class ByteSource {
  private readonly it: AsyncIterator<Buffer>;
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.chunk = r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at the end of the stream. */
  async some(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const n = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.consumed += n;
    return out;
  }

  /** Exactly `n` bytes; undefined when the stream ends before the first byte; throws when it ends inside. */
  async exact(n: number): Promise<Buffer | undefined> {
    const first = await this.some(n);
    if (!first) return undefined;
    if (first.length === n) return first;
    const parts = [Buffer.from(first)];
    let got = first.length;
    while (got < n) {
      const b = await this.some(n - got);
      if (!b) throw new TarError(`archive truncated: wanted ${n} bytes, got ${got}`);
      parts.push(Buffer.from(b));
      got += b.length;
    }
    return Buffer.concat(parts, n);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const b = await this.some(left);
      if (!b) throw new TarError('archive truncated inside an entry');
      left -= b.length;
    }
  }

  /** Reads and drops everything that is left. */
  async drain(): Promise<void> {
    while (await this.some(1 << 20));
  }
}

function cstring(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function number(buf: Buffer, start: number, len: number, field: string): number {
  const first = buf[start]!;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement, the top bit marking the format.
    let value = BigInt(first & 0x7f);
    const negative = (first & 0x40) !== 0;
    for (let i = 1; i < len; i++) value = (value << 8n) | BigInt(buf[start + i]!);
    if (negative) value -= 1n << BigInt(len * 8 - 1);
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new TarError(`header field ${field} is out of range`);
    return n;
  }
  const text = buf.toString('latin1', start, start + len).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`header field ${field} is not an octal number: ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const text = block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (!/^[0-7]+$/.test(text)) return false;
  const stored = parseInt(text, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** PAX records: "<len> <key>=<value>\n". Values are raw bytes (xattrs may be binary). */
function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  let records = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    if (++records > MAX_PAX_RECORDS) throw new LayerLimitError(`has a PAX header of more than ${MAX_PAX_RECORDS} records`);
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw new TarError('malformed PAX header');
    const len = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new TarError('malformed PAX record length');
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw new TarError('malformed PAX record');
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  D: 'dir',
};

export class TarReader {
  private readonly src: ByteSource;
  private remaining = 0;
  private padding = 0;
  private ended = false;
  private readonly globals = new Map<string, Buffer>();
  private globalHeaders = 0;
  private globalBytes = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.src = new ByteSource(source);
  }

  /** Bytes of the archive read so far. */
  get position(): number {
    return this.src.consumed;
  }

  /** The next entry's header (the previous entry's unread body is skipped); undefined at the end. */
  async next(): Promise<TarHeader | undefined> {
    if (this.ended) return undefined;
    await this.src.skip(this.remaining + this.padding);
    this.remaining = 0;
    this.padding = 0;
    let pax = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const block = await this.src.exact(BLOCK);
      if (!block) {
        // Some writers omit the end-of-archive blocks; a clean end between entries is accepted.
        this.ended = true;
        return undefined;
      }
      if (block.every((b) => b === 0)) {
        this.ended = true;
        return undefined;
      }
      if (!checksumOk(block)) throw new TarError(`bad header checksum at offset ${this.src.consumed - BLOCK}`);
      const flag = String.fromCharCode(block[156]!);
      const size = number(block, 124, 12, 'size');
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > MAX_META_BYTES) throw new TarError(`extended header of ${size} bytes is too large`);
        const data = (await this.src.exact(size)) ?? Buffer.alloc(0);
        if (data.length !== size) throw new TarError('archive truncated in an extended header');
        await this.src.skip((BLOCK - (size % BLOCK)) % BLOCK);
        if (flag === 'x') pax = parsePax(data);
        else if (flag === 'g') this.addGlobals(data);
        else if (flag === 'L') longName = cstring(data, 0, data.length);
        else longLink = cstring(data, 0, data.length);
        continue;
      }
      if (flag === 'V') {
        await this.src.skip(size + ((BLOCK - (size % BLOCK)) % BLOCK));
        continue;
      }
      // The entry's own records win over the global ones.
      const merged = this.globals.size === 0 ? pax : new Map([...this.globals, ...pax]);
      for (const key of merged.keys()) {
        if (key.startsWith('GNU.sparse.')) throw new TarError('sparse files are not supported');
      }
      if (flag === 'S') throw new TarError('sparse files are not supported');
      let type = TYPES[flag];
      if (type === undefined) throw new TarError(`unsupported entry type ${JSON.stringify(flag)}`);

      const magic = block.toString('latin1', 257, 263);
      let name = cstring(block, 0, 100);
      if (magic === 'ustar\0') {
        const prefix = cstring(block, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      const paxText = (k: string): string | undefined => merged.get(k)?.toString('utf8');
      const paxNum = (k: string): number | undefined => {
        const t = paxText(k);
        if (t === undefined) return undefined;
        const n = Number(t);
        if (!Number.isFinite(n)) throw new TarError(`PAX ${k} is not a number: ${JSON.stringify(t)}`);
        return n;
      };
      name = paxText('path') ?? name;
      if (type === 'file' && name.endsWith('/') && (flag === '\0' || flag === '0')) type = 'dir';

      const xattrs = new Map<string, Buffer>();
      for (const [k, v] of merged) {
        if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice(13), v);
        else if (k.startsWith('LIBARCHIVE.xattr.')) xattrs.set(decodeURIComponent(k.slice(17)), Buffer.from(v.toString('latin1'), 'base64'));
      }
      const entrySize = paxNum('size') ?? size;
      const header: TarHeader = {
        name,
        type,
        mode: number(block, 100, 8, 'mode') & 0o7777,
        uid: paxNum('uid') ?? number(block, 108, 8, 'uid'),
        gid: paxNum('gid') ?? number(block, 116, 8, 'gid'),
        size: type === 'file' ? entrySize : 0,
        mtime: paxNum('mtime') ?? number(block, 136, 12, 'mtime'),
        linkname: paxText('linkpath') ?? longLink ?? cstring(block, 157, 100),
        devmajor: type === 'char' || type === 'block' ? number(block, 329, 8, 'devmajor') : 0,
        devminor: type === 'char' || type === 'block' ? number(block, 337, 8, 'devminor') : 0,
        xattrs,
      };
      const atime = paxNum('atime');
      if (atime !== undefined) header.atime = atime;
      if (!Number.isSafeInteger(entrySize) || entrySize < 0) throw new TarError(`entry ${JSON.stringify(name)} has an invalid size`);
      // Hard links, directories and the like may still carry data blocks; skip them.
      this.remaining = entrySize;
      this.padding = (BLOCK - (entrySize % BLOCK)) % BLOCK;
      if (type !== 'file') {
        await this.src.skip(this.remaining + this.padding);
        this.remaining = 0;
        this.padding = 0;
      }
      return header;
    }
  }

  private addGlobals(data: Buffer): void {
    if (++this.globalHeaders > MAX_GLOBAL_HEADERS) throw new LayerLimitError(`has more than ${MAX_GLOBAL_HEADERS} global PAX headers`);
    this.globalBytes += data.length;
    if (this.globalBytes > MAX_GLOBAL_BYTES) throw new LayerLimitError(`has global PAX headers of more than ${MAX_GLOBAL_BYTES} bytes in all`);
    for (const [k, v] of parsePax(data)) this.globals.set(k, v);
    if (this.globals.size > MAX_GLOBAL_KEYS) throw new LayerLimitError(`has global PAX headers setting more than ${MAX_GLOBAL_KEYS} keys`);
  }

  /** The current entry's data, chunk by chunk. */
  async *body(): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      const b = await this.src.some(this.remaining);
      if (!b) throw new TarError('archive truncated inside a file');
      this.remaining -= b.length;
      yield b;
    }
  }

  /** Consumes whatever follows the end of the archive (padding up to the stream's end). */
  async drain(): Promise<void> {
    await this.src.drain();
  }
}
