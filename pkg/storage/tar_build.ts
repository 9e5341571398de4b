// Writes small tar archives in memory (ustar headers, PAX or GNU records for
// long names and xattrs). Used to build hand-made layers, e.g. the hostile
// ones the tests serve; not meant for large archives.
import type { EntryType } from './tar';

export interface TarBuildEntry {
  name: string;
  type?: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  linkname?: string;
  data?: Buffer | string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer | string>;
  /** Extra PAX records. */
  pax?: Record<string, string>;
  /** Write a long name as a GNU 'L' record rather than PAX. */
  gnuLongName?: boolean;
}

const BLOCK = 512;
const FLAGS: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(buf: Buffer, value: number, start: number, len: number): void {
  buf.write(`${value.toString(8).padStart(len - 1, '0')}\0`, start, len, 'latin1');
}

function header(name: string, flag: string, size: number, e: Omit<TarBuildEntry, 'name'>, linkname: string): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  octal(b, e.mode ?? (flag === '5' ? 0o755 : 0o644), 100, 8);
  octal(b, e.uid ?? 0, 108, 8);
  octal(b, e.gid ?? 0, 116, 8);
  octal(b, size, 124, 12);
  octal(b, Math.floor(e.mtime ?? 1_700_000_000), 136, 12);
  b[156] = flag.charCodeAt(0);
  b.write(linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  octal(b, e.devmajor ?? 0, 329, 8);
  octal(b, e.devminor ?? 0, 337, 8);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

function pad(data: Buffer): Buffer[] {
  const rest = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return rest ? [data, Buffer.alloc(rest)] : [data];
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function buildTar(entries: TarBuildEntry[], opts: { trailer?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    const records: Buffer[] = [];
    let name = e.name;
    let linkname = e.linkname ?? '';
    if (Buffer.byteLength(name) > 100) {
      if (e.gnuLongName) {
        const n = Buffer.from(`${name}\0`);
        parts.push(header('././@LongLink', 'L', n.length, {}, ''), ...pad(n));
      } else {
        records.push(paxRecord('path', Buffer.from(name)));
      }
      name = name.slice(0, 100);
    }
    if (Buffer.byteLength(linkname) > 100) {
      records.push(paxRecord('linkpath', Buffer.from(linkname)));
      linkname = linkname.slice(0, 100);
    }
    for (const [k, v] of Object.entries(e.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.from(v)));
    for (const [k, v] of Object.entries(e.pax ?? {})) records.push(paxRecord(k, Buffer.from(v)));
    if (records.length) {
      const pax = Buffer.concat(records);
      parts.push(header('PaxHeader', 'x', pax.length, {}, ''), ...pad(pax));
    }
    parts.push(header(name, FLAGS[type], data.length, e, linkname), ...pad(data));
  }
  if (opts.trailer !== false) parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** A global PAX header ('g'): its records apply to every entry after it. */
export function buildGlobalHeader(records: Record<string, string>): Buffer {
  const pax = Buffer.concat(Object.entries(records).map(([k, v]) => paxRecord(k, Buffer.from(v))));
  return Buffer.concat([header('pax_global_header', 'g', pax.length, {}, ''), ...pad(pax)]);
}
