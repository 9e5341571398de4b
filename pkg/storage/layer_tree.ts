// What a layer being unpacked holds so far, by path: each node's kind and
// what is kept for the end of the layer (directory times, xattrs, opaque
// markers, device nodes to chown). Directories know their children, so that
// removing a path costs the size of what it removes, and a layer that
// replaces N entries is unpacked in O(N), not O(N²).
//
// Invariant: every node's ancestors are directory nodes (a node is added
// only under a directory node, and removing a node removes its subtree).
//
// A removed path stays in the maps as a tombstone (undefined) rather than
// being deleted: V8's hash tables keep deleted entries in their buckets until
// the next rehash, so deleting and re-adding one key N times makes each
// lookup of it walk up to N dead entries, O(N²) again. Tombstones are bounded
// by the number of distinct paths the layer names.
import { LayerLimitError } from './unpack_limits';

export type Kind = 'dir' | 'file' | 'symlink' | 'special';

/** A device node, fifo or whiteout, made in batches by mknod/mkfifo. */
export interface Special {
  op: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  /** pending: waits for the next mknod batch; made: on disk, gets its owner, mode and times at the end; dropped: replaced before it was made. */
  state: 'pending' | 'made' | 'dropped';
}

export interface TreeNode {
  kind: Kind;
  /** Keys of the direct children (directories only); removed ones stay as tombstones. */
  children?: Set<string>;
  /** Times from the directory's own entry, set last. */
  times?: { atime: number; mtime: number };
  xattrs?: Map<string, Buffer>;
  opaque?: boolean;
  /** Set on the node that made a device/fifo/whiteout (not on hard links to it). */
  special?: Special;
}

/** "a/b/c" → "a/b"; "a" → "" (the layer root). */
export function parentKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? '' : key.slice(0, slash);
}

export class LayerTree {
  private readonly nodes = new Map<string, TreeNode | undefined>([['', { kind: 'dir', children: new Set() }]]);
  private xattrBytes = 0;

  constructor(private readonly maxXattrBytes: number) {}

  get(key: string): TreeNode | undefined {
    return this.nodes.get(key);
  }

  /** Adds `key` (absent) under its parent, which must be a directory node. */
  add(key: string, node: TreeNode): TreeNode {
    const parent = this.nodes.get(parentKey(key));
    if (parent?.kind !== 'dir' || this.nodes.get(key) !== undefined) throw new Error(`layer tree: cannot add ${JSON.stringify(key)}`);
    if (node.kind === 'dir') node.children ??= new Set();
    parent.children!.add(key);
    this.nodes.set(key, node);
    return node;
  }

  /** Removes `key` and everything below it; returns the removed nodes, `key`'s first. */
  remove(key: string): [string, TreeNode][] {
    const top = this.nodes.get(key);
    if (!top || key === '') return [];
    const removed: [string, TreeNode][] = [];
    const stack: [string, TreeNode][] = [[key, top]];
    while (stack.length) {
      const [k, node] = stack.pop()!;
      removed.push([k, node]);
      this.nodes.set(k, undefined);
      if (node.xattrs) this.xattrBytes -= xattrSize(node.xattrs);
      for (const c of node.children ?? []) {
        const child = this.nodes.get(c);
        if (child) stack.push([c, child]);
      }
    }
    return removed;
  }

  /** Replaces a node's kept xattrs; fails when the layer would keep more than its limit. */
  setXattrs(key: string, node: TreeNode, xattrs: Map<string, Buffer>): void {
    const before = node.xattrs ? xattrSize(node.xattrs) : 0;
    const after = xattrSize(xattrs);
    if (this.xattrBytes - before + after > this.maxXattrBytes) {
      throw new LayerLimitError(`has more than ${this.maxXattrBytes} bytes of extended attributes (at entry ${JSON.stringify(key)})`);
    }
    this.xattrBytes += after - before;
    node.xattrs = xattrs;
  }

  /** The keys of a directory's children, as they are now. */
  children(key: string): string[] {
    return [...(this.nodes.get(key)?.children ?? [])].filter((c) => this.nodes.get(c) !== undefined);
  }

  *entries(): IterableIterator<[string, TreeNode]> {
    for (const [k, node] of this.nodes) if (node) yield [k, node];
  }
}

function xattrSize(xattrs: Map<string, Buffer>): number {
  let n = 0;
  for (const [name, value] of xattrs) n += name.length + value.length;
  return n;
}
