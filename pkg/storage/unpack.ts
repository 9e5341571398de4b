// Unpacks one layer's tar stream into an empty directory as an overlayfs
// lower layer: whiteouts (.wh.NAME) become 0:0 character devices, opaque
// markers (.wh..wh..opq) the trusted.overlay.opaque=y xattr; files, dirs,
// symlinks, hard links, devices and fifos keep owner, mode and mtime.
//
// Safety: the directory starts empty and only this code writes into it, so
// an in-memory tree of what exists (layer_tree.ts) is exact. An entry is
// refused when its path uses "..", is absolute, or passes through a symlink
// or a non-directory it created; a hard link must point at an entry of this
// layer. Files are opened O_NOFOLLOW|O_EXCL.
//
// Bounds (unpack_limits.ts): entries per layer, PAX headers (tar.ts) and the
// xattrs kept until the end; replacing an entry costs what it removes.
//
// The file system calls are synchronous: unpacking runs in worker threads
// (unpack_worker.ts) whose one job this is, and a round trip through libuv's
// thread pool per call cost more than the call itself (futex and epoll
// traffic several times the syscalls that do the work).
//
// Node has no mknod, mkfifo or setxattr: device nodes, fifos and whiteouts
// are made in one batch per layer by a shell running mknod/mkfifo, and
// xattrs in one `setfattr --restore` per layer (Debian package `attr`).
// Both run only when the layer has such entries.
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, utimesSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { DirectLauncher, type Launcher } from '../spawn/launcher';
import { run } from '../spawn/run';
import { LayerTree, type Special, type TreeNode } from './layer_tree';
import { entryComponents, UnsafeEntryError } from './safe_path';
import { TarReader, type TarHeader } from './tar';
import { DEFAULT_MAX_ENTRIES, LayerLimitError, MAX_XATTR_BYTES, type UnpackLimits } from './unpack_limits';

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
  limits?: UnpackLimits;
  /** Starts mknod and setfattr; default child_process (unpack runs in worker threads, away from the spawn server). */
  launcher?: Launcher;
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

/** Writes every byte of `chunks` (writev may write less than asked). */
function writeAll(fd: number, chunks: Buffer[]): void {
  let rest = chunks;
  while (rest.length) {
    let n = writevSync(fd, rest);
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}

class LayerWriter {
  private readonly tree = new LayerTree(MAX_XATTR_BYTES);
  /** Devices, fifos and whiteouts for the next mknod batch, in order; the dropped ones are skipped. */
  private pending: [string, Special][] = [];
  size = 0;
  inodes = 1;
  private readonly launcher: Launcher;

  constructor(
    private readonly root: string,
    private readonly opts: UnpackOptions,
  ) {
    this.launcher = opts.launcher ?? new DirectLauncher();
  }

  private abs(key: string): string {
    return key === '' ? this.root : join(this.root, key);
  }

  /** Makes sure every parent of an entry is a real directory of this layer, creating missing ones. */
  private parents(parts: string[], entry: string): void {
    // The tree's invariant: a directory node's ancestors are all directory nodes.
    if (this.tree.get(parts.join('/'))?.kind === 'dir') return;
    let key = '';
    for (const part of parts) {
      key = key === '' ? part : `${key}/${part}`;
      const kind = this.tree.get(key)?.kind;
      if (kind === 'dir') continue;
      if (kind === 'symlink') throw new UnsafeEntryError(entry, `path passes through the symlink ${JSON.stringify(key)} (it could lead outside the layer)`);
      if (kind !== undefined) throw new UnsafeEntryError(entry, `parent ${JSON.stringify(key)} is not a directory`);
      // A directory the layer implies but does not list: 0755, whatever krilld's umask.
      mkdirSync(this.abs(key));
      chmodSync(this.abs(key), 0o755);
      this.tree.add(key, { kind: 'dir' });
      this.inodes++;
    }
  }

  /** Removes what this layer holds at `key` (and below it), so that a later entry replaces it. */
  private remove(key: string): void {
    const removed = this.tree.remove(key);
    if (removed.length === 0) return;
    // Devices and fifos not made yet are simply not made; nothing of them is on disk.
    for (const [, node] of removed) if (node.special?.state === 'pending') node.special.state = 'dropped';
    const [, top] = removed[0]!;
    if (top.special?.state === 'dropped') return;
    rmSync(this.abs(key), { recursive: top.kind === 'dir', force: true });
  }

  private keepXattrs(key: string, node: TreeNode, h: TarHeader): void {
    if (h.xattrs.size === 0) return;
    const keep = new Map<string, Buffer>();
    for (const [name, value] of h.xattrs) {
      // Overlay's own attributes come only from whiteout markers, never from a layer's data.
      if (name.startsWith('trusted.overlay.')) continue;
      // The kernel refuses user.* xattrs on symlinks and device nodes.
      if (name.startsWith('user.') && (node.kind === 'symlink' || node.kind === 'special')) continue;
      keep.set(name, value);
    }
    if (keep.size) this.tree.setXattrs(key, node, keep);
  }

  async entry(h: TarHeader, body: () => AsyncIterable<Buffer>): Promise<void> {
    const parts = entryComponents(h.name);
    const base = parts[parts.length - 1];
    const atime = h.atime ?? h.mtime;
    if (base !== undefined && base.startsWith('.wh.')) {
      const dirParts = parts.slice(0, -1);
      this.parents(dirParts, h.name);
      const dirKey = dirParts.join('/');
      if (base === '.wh..wh..opq') {
        this.tree.get(dirKey)!.opaque = true;
        return;
      }
      if (base.startsWith('.wh..wh.')) return; // aufs bookkeeping (.wh..wh.plnk and the like)
      const name = base.slice(4);
      if (name === '' || name === '.' || name === '..') throw new UnsafeEntryError(h.name, 'a whiteout that names no entry');
      const key = dirKey === '' ? name : `${dirKey}/${name}`;
      this.remove(key);
      this.addSpecial(key, { op: 'c', major: 0, minor: 0, mode: 0, uid: h.uid, gid: h.gid, atime, mtime: h.mtime, state: 'pending' });
      return;
    }
    if (parts.length === 0) {
      if (h.type !== 'dir') throw new UnsafeEntryError(h.name, `the layer root cannot be a ${h.type}`);
      lchownSync(this.root, h.uid, h.gid);
      chmodSync(this.root, h.mode);
      this.tree.get('')!.times = { atime, mtime: h.mtime };
      return;
    }
    this.parents(parts.slice(0, -1), h.name);
    const key = parts.join('/');
    const path = this.abs(key);
    const existing = this.tree.get(key);
    if (existing?.kind === 'dir' && h.type === 'dir') {
      lchownSync(path, h.uid, h.gid);
      chmodSync(path, h.mode);
      existing.times = { atime, mtime: h.mtime };
      this.keepXattrs(key, existing, h);
      return;
    }
    if (existing !== undefined) this.remove(key);

    switch (h.type) {
      case 'dir': {
        mkdirSync(path, 0o700);
        lchownSync(path, h.uid, h.gid);
        chmodSync(path, h.mode);
        const node = this.tree.add(key, { kind: 'dir', times: { atime, mtime: h.mtime } });
        this.inodes++;
        this.keepXattrs(key, node, h);
        return;
      }
      case 'file': {
        await this.writeFile(path, h, body(), atime);
        const node = this.tree.add(key, { kind: 'file' });
        this.size += h.size;
        this.inodes++;
        this.keepXattrs(key, node, h);
        return;
      }
      case 'symlink': {
        symlinkSync(h.linkname, path);
        lchownSync(path, h.uid, h.gid);
        lutimesSync(path, atime, h.mtime);
        const node = this.tree.add(key, { kind: 'symlink' });
        this.inodes++;
        this.keepXattrs(key, node, h);
        return;
      }
      case 'link': {
        const targetParts = entryComponents(h.linkname, h.name);
        const targetKey = targetParts.join('/');
        const target = this.tree.get(targetKey);
        if (target === undefined || targetKey === '') {
          throw new UnsafeEntryError(h.name, `hard link to ${JSON.stringify(h.linkname)}, which is not an entry of this layer`);
        }
        if (target.kind === 'dir') throw new UnsafeEntryError(h.name, `hard link to the directory ${JSON.stringify(h.linkname)}`);
        if (target.special?.state === 'pending') await this.flushSpecials();
        linkSync(this.abs(targetKey), path);
        this.tree.add(key, { kind: target.kind });
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const op = h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p';
        const node = this.addSpecial(key, { op, major: h.devmajor, minor: h.devminor, mode: h.mode, uid: h.uid, gid: h.gid, atime, mtime: h.mtime, state: 'pending' });
        this.keepXattrs(key, node, h);
        return;
      }
    }
  }

  private async writeFile(path: string, h: TarHeader, data: AsyncIterable<Buffer>, atime: number): Promise<void> {
    const fd = openSync(path, WRITE_FLAGS, 0o600);
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of data) {
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= COALESCE_BYTES) {
          writeAll(fd, batch);
          batch = [];
          batched = 0;
        }
      }
      if (batch.length) writeAll(fd, batch);
      // chown clears setuid/setgid, so the mode comes after it.
      fchownSync(fd, h.uid, h.gid);
      fchmodSync(fd, h.mode);
      futimesSync(fd, atime, h.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private addSpecial(key: string, special: Special): TreeNode {
    this.pending.push([key, special]);
    this.inodes++;
    return this.tree.add(key, { kind: 'special', special });
  }

  private async flushSpecials(): Promise<void> {
    const todo = this.pending.filter(([, s]) => s.state === 'pending');
    this.pending = [];
    for (let i = 0; i < todo.length; i += SPECIALS_PER_BATCH) {
      const batch = todo.slice(i, i + SPECIALS_PER_BATCH);
      const args: string[] = [];
      for (const [key, s] of batch) {
        if (s.op === 'p') args.push('p', this.abs(key));
        else args.push(s.op, this.abs(key), String(s.major), String(s.minor));
      }
      const r = await run(this.launcher, '/bin/sh', ['-c', MKNOD_SCRIPT, 'krill-mknod', ...args], { signal: this.opts.signal });
      if (r.code !== 0) throw new Error(`creating device nodes and fifos failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      for (const [, s] of batch) s.state = 'made';
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
      r = await run(this.launcher, 'setfattr', ['-h', '--restore=-'], { input: dump, cwd: this.root, signal: this.opts.signal });
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
    const opaque: [string, string, Buffer][] = [];
    const xattrs: [string, string, Buffer][] = [];
    const dirs: { key: string; depth: number; atime: number; mtime: number }[] = [];
    for (const [key, node] of this.tree.entries()) {
      if (node.special?.state === 'made') {
        // chmod follows symlinks: only ever on the node this layer made (a replaced one left the tree).
        const s = node.special;
        const path = this.abs(key);
        lchownSync(path, s.uid, s.gid);
        if (s.mode !== 0) chmodSync(path, s.mode);
        lutimesSync(path, s.atime, s.mtime);
      }
      if (node.opaque) opaque.push([key, 'trusted.overlay.opaque', Buffer.from('y')]);
      for (const [name, value] of node.xattrs ?? []) xattrs.push([key, name, value]);
      if (node.times) dirs.push({ key, depth: key === '' ? 0 : key.split('/').length, ...node.times });
    }
    // Opaque markers decide what containers see: failing to set one fails the layer.
    await this.setXattrs(opaque, true);
    await this.setXattrs(xattrs, false);
    // Directory times last: creating children changed them. Deepest first.
    dirs.sort((a, b) => b.depth - a.depth);
    for (const d of dirs) utimesSync(this.abs(d.key), d.atime, d.mtime);
  }
}

/**
 * Unpacks the (uncompressed) tar stream `source` into the empty directory
 * `dest`. The whole stream is consumed, so a digest computed over it is complete.
 */
export async function unpackLayer(source: AsyncIterable<Buffer>, dest: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const reader = new TarReader(source);
  const writer = new LayerWriter(dest, opts);
  const maxEntries = opts.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES;
  let entries = 0;
  for (let h = await reader.next(); h; h = await reader.next()) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (++entries > maxEntries) throw new LayerLimitError(`has more than ${maxEntries} entries (image.max_layer_entries)`);
    await writer.entry(h, () => reader.body());
  }
  await reader.drain();
  await writer.finish();
  return { size: writer.size, inodes: writer.inodes };
}
