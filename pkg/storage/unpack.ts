// Unpacks one layer's tar stream into an empty directory as an overlayfs
// lower layer: whiteouts (.wh.NAME) become 0:0 character devices, opaque
// markers (.wh..wh..opq) the trusted.overlay.opaque=y xattr; files, dirs,
// symlinks, hard links, devices and fifos keep owner, mode and mtime.
//
// Safety: the directory starts empty and only this code writes into it, so
// an in-memory map of what exists is exact. An entry is refused when its
// path uses "..", is absolute, or passes through a symlink or a non-directory
// it created; a hard link must point at an entry of this layer. Files are
// opened O_NOFOLLOW|O_EXCL.
//
// Node has no mknod, mkfifo or setxattr: device nodes, fifos and whiteouts
// are made in one batch per layer by a shell running mknod/mkfifo, and
// xattrs in one `setfattr --restore` per layer (Debian package `attr`).
// Both run only when the layer has such entries.
import { constants } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec';
import { entryComponents, UnsafeEntryError } from './safe_path';
import { TarReader, type TarHeader } from './tar';

export interface UnpackResult {
  /** Bytes of regular file content written. */
  size: number;
  /** Filesystem objects created (inodes; hard links count once). */
  inodes: number;
}

export interface UnpackOptions {
  signal?: AbortSignal;
  /** Called with xattrs that could not be set (the filesystem refused them); the unpack continues. */
  onXattrWarning?: (message: string) => void;
}

type Kind = 'dir' | 'file' | 'symlink' | 'special';

interface Special {
  op: 'c' | 'b' | 'p';
  key: string;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const COALESCE_BYTES = 1 << 20;
const SPECIALS_PER_BATCH = 2000;
const MKNOD_SCRIPT = `set -e
while [ $# -gt 0 ]; do
  case "$1" in
    c|b) mknod -m 0 -- "$2" "$1" "$3" "$4"; shift 4 ;;
    p) mkfifo -m 0 -- "$2"; shift 2 ;;
    *) echo "bad op $1" >&2; exit 2 ;;
  esac
done`;

/** Escapes a path or name for a getfattr/setfattr dump: octal for backslash, blanks and non-ASCII bytes. */
function dumpEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte === 0x5c || byte <= 0x20 || byte >= 0x7f ? `\\${byte.toString(8).padStart(3, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

class LayerWriter {
  private readonly nodes = new Map<string, Kind>([['', 'dir']]);
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();
  private readonly opaque = new Set<string>();
  private readonly xattrs = new Map<string, Map<string, Buffer>>();
  private pending: Special[] = [];
  private readonly pendingKeys = new Set<string>();
  private readonly created: Special[] = [];
  size = 0;
  inodes = 1;

  constructor(
    private readonly root: string,
    private readonly opts: UnpackOptions,
  ) {}

  private abs(key: string): string {
    return key === '' ? this.root : join(this.root, key);
  }

  /** Makes sure every parent of an entry is a real directory of this layer, creating missing ones. */
  private async parents(parts: string[], entry: string): Promise<void> {
    let key = '';
    for (const part of parts) {
      key = key === '' ? part : `${key}/${part}`;
      const kind = this.nodes.get(key);
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw new UnsafeEntryError(entry, `path passes through the symlink ${JSON.stringify(key)} (it could lead outside the layer)`);
      if (kind !== undefined) throw new UnsafeEntryError(entry, `parent ${JSON.stringify(key)} is not a directory`);
      // A directory the layer implies but does not list: 0755, whatever krilld's umask.
      await mkdir(this.abs(key));
      await chmod(this.abs(key), 0o755);
      this.nodes.set(key, 'dir');
      this.inodes++;
    }
  }

  /** Removes what this layer holds at `key` (and below it), so that a later entry replaces it. */
  private async remove(key: string): Promise<void> {
    if (this.pendingKeys.has(key)) await this.flushSpecials();
    const kind = this.nodes.get(key);
    if (kind === undefined) return;
    await rm(this.abs(key), { recursive: kind === 'dir', force: true });
    const prefix = `${key}/`;
    for (const map of [this.nodes, this.dirTimes, this.xattrs] as Map<string, unknown>[]) {
      for (const k of [...map.keys()]) if (k === key || k.startsWith(prefix)) map.delete(k);
    }
    for (const k of [...this.opaque]) if (k === key || k.startsWith(prefix)) this.opaque.delete(k);
    // A device or fifo made earlier at this place must not get its owner and mode set later (on whatever replaced it).
    for (let i = this.created.length - 1; i >= 0; i--) {
      const k = this.created[i]!.key;
      if (k === key || k.startsWith(prefix)) this.created.splice(i, 1);
    }
  }

  private keepXattrs(key: string, h: TarHeader, kind: Kind): void {
    if (h.xattrs.size === 0) return;
    const keep = new Map<string, Buffer>();
    for (const [name, value] of h.xattrs) {
      // Overlay's own attributes come only from whiteout markers, never from a layer's data.
      if (name.startsWith('trusted.overlay.')) continue;
      // The kernel refuses user.* xattrs on symlinks and device nodes.
      if (name.startsWith('user.') && (kind === 'symlink' || kind === 'special')) continue;
      keep.set(name, value);
    }
    if (keep.size) this.xattrs.set(key, keep);
  }

  async entry(h: TarHeader, body: () => AsyncIterable<Buffer>): Promise<void> {
    const parts = entryComponents(h.name);
    const base = parts[parts.length - 1];
    const atime = h.atime ?? h.mtime;
    if (base !== undefined && base.startsWith('.wh.')) {
      const dirParts = parts.slice(0, -1);
      await this.parents(dirParts, h.name);
      const dirKey = dirParts.join('/');
      if (base === '.wh..wh..opq') {
        this.opaque.add(dirKey);
        return;
      }
      if (base.startsWith('.wh..wh.')) return; // aufs bookkeeping (.wh..wh.plnk and the like)
      const name = base.slice(4);
      if (name === '' || name === '.' || name === '..') throw new UnsafeEntryError(h.name, 'a whiteout that names no entry');
      const key = dirKey === '' ? name : `${dirKey}/${name}`;
      await this.remove(key);
      this.addSpecial({ op: 'c', key, major: 0, minor: 0, mode: 0, uid: h.uid, gid: h.gid, atime, mtime: h.mtime });
      return;
    }
    if (parts.length === 0) {
      if (h.type !== 'dir') throw new UnsafeEntryError(h.name, `the layer root cannot be a ${h.type}`);
      await lchown(this.root, h.uid, h.gid);
      await chmod(this.root, h.mode);
      this.dirTimes.set('', { atime, mtime: h.mtime });
      return;
    }
    await this.parents(parts.slice(0, -1), h.name);
    const key = parts.join('/');
    const path = this.abs(key);
    const existing = this.nodes.get(key);
    if (existing === 'dir' && h.type === 'dir') {
      await lchown(path, h.uid, h.gid);
      await chmod(path, h.mode);
      this.dirTimes.set(key, { atime, mtime: h.mtime });
      this.keepXattrs(key, h, 'dir');
      return;
    }
    if (existing !== undefined) await this.remove(key);

    switch (h.type) {
      case 'dir':
        await mkdir(path, 0o700);
        await lchown(path, h.uid, h.gid);
        await chmod(path, h.mode);
        this.nodes.set(key, 'dir');
        this.dirTimes.set(key, { atime, mtime: h.mtime });
        this.inodes++;
        this.keepXattrs(key, h, 'dir');
        return;
      case 'file':
        await this.writeFile(path, h, body(), atime);
        this.nodes.set(key, 'file');
        this.size += h.size;
        this.inodes++;
        this.keepXattrs(key, h, 'file');
        return;
      case 'symlink':
        await symlink(h.linkname, path);
        await lchown(path, h.uid, h.gid);
        await lutimes(path, atime, h.mtime);
        this.nodes.set(key, 'symlink');
        this.inodes++;
        this.keepXattrs(key, h, 'symlink');
        return;
      case 'link': {
        const targetParts = entryComponents(h.linkname, h.name);
        const targetKey = targetParts.join('/');
        const kind = this.nodes.get(targetKey);
        if (kind === undefined || targetKey === '') {
          throw new UnsafeEntryError(h.name, `hard link to ${JSON.stringify(h.linkname)}, which is not an entry of this layer`);
        }
        if (kind === 'dir') throw new UnsafeEntryError(h.name, `hard link to the directory ${JSON.stringify(h.linkname)}`);
        if (this.pendingKeys.has(targetKey)) await this.flushSpecials();
        await link(this.abs(targetKey), path);
        this.nodes.set(key, kind);
        return;
      }
      case 'char':
      case 'block':
      case 'fifo':
        this.addSpecial({
          op: h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p',
          key,
          major: h.devmajor,
          minor: h.devminor,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          atime,
          mtime: h.mtime,
        });
        this.keepXattrs(key, h, 'special');
        return;
    }
  }

  private async writeFile(path: string, h: TarHeader, data: AsyncIterable<Buffer>, atime: number): Promise<void> {
    const fh = await open(path, WRITE_FLAGS, 0o600);
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of data) {
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= COALESCE_BYTES) {
          await fh.writev(batch);
          batch = [];
          batched = 0;
        }
      }
      if (batch.length) await fh.writev(batch);
      // chown clears setuid/setgid, so the mode comes after it.
      await fh.chown(h.uid, h.gid);
      await fh.chmod(h.mode);
      await fh.utimes(atime, h.mtime);
    } finally {
      await fh.close();
    }
  }

  private addSpecial(s: Special): void {
    this.pending.push(s);
    this.pendingKeys.add(s.key);
    this.nodes.set(s.key, 'special');
    this.inodes++;
  }

  private async flushSpecials(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, SPECIALS_PER_BATCH);
      const args: string[] = [];
      for (const s of batch) {
        if (s.op === 'p') args.push('p', this.abs(s.key));
        else args.push(s.op, this.abs(s.key), String(s.major), String(s.minor));
      }
      const r = await run('/bin/sh', ['-c', MKNOD_SCRIPT, 'krill-mknod', ...args], { signal: this.opts.signal });
      if (r.code !== 0) throw new Error(`creating device nodes and fifos failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      for (const s of batch) {
        this.pendingKeys.delete(s.key);
        this.created.push(s);
      }
    }
  }

  private async setXattrs(entries: [string, string, Buffer][], fatal: boolean): Promise<void> {
    if (entries.length === 0) return;
    let dump = '';
    for (const [key, name, value] of entries) {
      dump += `# file: ${dumpEscape(key === '' ? '.' : key)}\n${dumpEscape(name)}=0x${value.toString('hex')}\n\n`;
    }
    let r;
    try {
      r = await run('setfattr', ['-h', '--restore=-'], { input: dump, cwd: this.root, signal: this.opts.signal });
    } catch (err) {
      throw new Error(`setting extended attributes needs setfattr (Debian package "attr"): ${(err as Error).message}`);
    }
    if (r.code === 0) return;
    const message = `setfattr failed for some of ${entries.length} xattr(s): ${r.stderr.trim().split('\n').slice(0, 5).join('; ')}`;
    if (fatal) throw new Error(message);
    this.opts.onXattrWarning?.(message);
  }

  async finish(): Promise<void> {
    await this.flushSpecials();
    for (const s of this.created) {
      // chmod follows symlinks: only ever on the node this layer made.
      if (this.nodes.get(s.key) !== 'special') continue;
      const path = this.abs(s.key);
      await lchown(path, s.uid, s.gid);
      if (s.mode !== 0) await chmod(path, s.mode);
      await lutimes(path, s.atime, s.mtime);
    }
    // Opaque markers decide what containers see: failing to set one fails the layer.
    await this.setXattrs([...this.opaque].map((k) => [k, 'trusted.overlay.opaque', Buffer.from('y')]), true);
    const rest: [string, string, Buffer][] = [];
    for (const [key, map] of this.xattrs) for (const [name, value] of map) rest.push([key, name, value]);
    await this.setXattrs(rest, false);
    // Directory times last: creating children changed them. Deepest first.
    const dirs = [...this.dirTimes].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [key, t] of dirs) await utimes(this.abs(key), t.atime, t.mtime);
  }
}

/**
 * Unpacks the (uncompressed) tar stream `source` into the empty directory
 * `dest`. The whole stream is consumed, so a digest computed over it is complete.
 */
export async function unpackLayer(source: AsyncIterable<Buffer>, dest: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const reader = new TarReader(source);
  const writer = new LayerWriter(dest, opts);
  for (let h = await reader.next(); h; h = await reader.next()) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    await writer.entry(h, () => reader.body());
  }
  await reader.drain();
  await writer.finish();
  return { size: writer.size, inodes: writer.inodes };
}
