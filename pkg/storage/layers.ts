// The layer store: unpacked layers keyed by chain ID under
// <root>/layers/<chain-id hex>/diff, each usable as an overlayfs lower
// directory and shared by every image that has it.
//
// A layer is unpacked into tmp-<hex>-<random>/ beside its final place and
// renamed into place only when complete, so a crash never leaves a half
// layer under a chain ID. Removal renames to trash-* first for the same
// reason. Which layers exist is recorded in the state store; at start the
// directories and the records are reconciled.
//
// Who uses a layer: images (the image manager passes the set it needs to
// gc()), containers (persistent holders: acquire/release, in the database),
// and pulls in progress (in-memory leases, which a crash drops with the pull).
import { Leases } from '../util/leases';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KrillError } from '../errors/errors';
import type { Logger } from '../log/logger';
import type { Store } from '../store/db';
import { KeyedMutex } from '../util/keyed_mutex';
import { shortLinkName } from './overlay';

export interface LayerInfo {
  chainId: string;
  diffId: string;
  /** The chain ID of the layer below, if any. */
  parent?: string;
  /** Bytes of file content in the layer. */
  size: number;
  inodes: number;
  createdAt: number;
}

export interface PreparedLayer {
  /** The directory to unpack into (empty, mode 0755). */
  dir: string;
  /** Moves the unpacked layer into place and records it. */
  commit(info: Omit<LayerInfo, 'chainId' | 'createdAt'>): Promise<void>;
  /** Deletes the temporary directory; safe to call after commit. */
  abort(): Promise<void>;
}

const HEX64 = /^[a-f0-9]{64}$/;

function hexOf(chainId: string): string {
  const hex = chainId.startsWith('sha256:') ? chainId.slice(7) : '';
  if (!HEX64.test(hex)) throw new KrillError('InvalidArgument', `invalid chain ID ${JSON.stringify(chainId)}`);
  return hex;
}

interface LayerRow {
  chain_id: string;
  diff_id: string;
  parent: string | null;
  size: number;
  inodes: number;
  created_at: number;
}

function toInfo(r: LayerRow): LayerInfo {
  const info: LayerInfo = { chainId: r.chain_id, diffId: r.diff_id, size: Number(r.size), inodes: Number(r.inodes), createdAt: Number(r.created_at) };
  if (r.parent) info.parent = r.parent;
  return info;
}

export class LayerStore {
  private readonly locks = new KeyedMutex();
  private readonly leases = new Leases();

  private constructor(
    private readonly store: Store,
    /** <root>/layers */
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Opens the store: tables, directories, and a reconciliation of both after a crash. */
  static async open(store: Store, dir: string, log: Logger): Promise<LayerStore> {
    store.migrate('layers', [
      {
        version: 1,
        sql: `CREATE TABLE layers (chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT, size INTEGER NOT NULL, inodes INTEGER NOT NULL, created_at INTEGER NOT NULL);
              CREATE TABLE layer_holders (holder_id TEXT NOT NULL, chain_id TEXT NOT NULL, PRIMARY KEY (holder_id, chain_id));
              CREATE INDEX layer_holders_chain ON layer_holders (chain_id);`,
      },
    ]);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const s = new LayerStore(store, dir, log.child({ component: 'layers' }));
    await s.reconcile();
    return s;
  }

  private async reconcile(): Promise<void> {
    const names = await readdir(this.dir);
    const onDisk = new Set<string>();
    for (const name of names) {
      if (name.startsWith('tmp-') || name.startsWith('trash-')) {
        this.log.info({ dir: name }, 'removing an unfinished layer directory left by a crash');
        await rm(join(this.dir, name), { recursive: true, force: true });
      } else if (HEX64.test(name)) {
        onDisk.add(`sha256:${name}`);
      }
    }
    for (const info of this.list()) {
      if (!onDisk.has(info.chainId)) {
        this.log.warn({ chain_id: info.chainId }, 'layer directory is missing; forgetting the layer');
        this.store.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(info.chainId);
      }
      onDisk.delete(info.chainId);
    }
    for (const chainId of onDisk) {
      this.log.info({ chain_id: chainId }, 'removing a layer directory that was never recorded');
      await rm(join(this.dir, hexOf(chainId)), { recursive: true, force: true });
    }
    await this.removeDanglingLinks();
  }

  /** overlay's short names for lower directories (l/<name>), made by the root filesystems. */
  private linksDir(): string {
    return join(this.dir, 'l');
  }

  /** Short links whose layer (or ID-mapped view) is gone: left by a crash, or by a krilld before they were collected with their layer. */
  private async removeDanglingLinks(): Promise<void> {
    const links = await readdir(this.linksDir()).catch(() => [] as string[]);
    let removed = 0;
    for (const name of links) {
      const link = join(this.linksDir(), name);
      const target = await readlink(link).catch(() => undefined);
      if (target !== undefined && (await stat(target).then(() => true, () => false))) continue;
      await rm(link, { force: true });
      removed++;
    }
    if (removed > 0) this.log.info({ removed }, 'removed short links of layers that are gone');
  }

  get(chainId: string): LayerInfo | undefined {
    const row = this.store.db.prepare('SELECT * FROM layers WHERE chain_id = ?').get(chainId) as LayerRow | undefined;
    return row ? toInfo(row) : undefined;
  }

  has(chainId: string): boolean {
    return this.store.db.prepare('SELECT 1 FROM layers WHERE chain_id = ?').get(chainId) !== undefined;
  }

  list(): LayerInfo[] {
    return (this.store.db.prepare('SELECT * FROM layers ORDER BY created_at, chain_id').all() as unknown as LayerRow[]).map(toInfo);
  }

  /** The absolute path of a layer's unpacked tree (an overlay lower directory). */
  diffDir(chainId: string): string {
    return join(this.dir, hexOf(chainId), 'diff');
  }

  /** Bytes and inodes of every layer, as recorded when they were unpacked. */
  usage(): { bytes: number; inodes: number } {
    const row = this.store.db.prepare('SELECT COALESCE(SUM(size), 0) AS bytes, COALESCE(SUM(inodes), 0) AS inodes FROM layers').get() as { bytes: number; inodes: number };
    return { bytes: Number(row.bytes), inodes: Number(row.inodes) };
  }

  /** A temporary directory to unpack `chainId` into. */
  async prepare(chainId: string): Promise<PreparedLayer> {
    const hex = hexOf(chainId);
    const tmp = join(this.dir, `tmp-${hex.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    // The layer's root: 0755 unless the layer says otherwise (a layer without a "./" entry).
    await mkdir(join(tmp, 'diff'), { recursive: true });
    await chmod(join(tmp, 'diff'), 0o755);
    let done = false;
    return {
      dir: join(tmp, 'diff'),
      commit: (info) =>
        this.locks.run(chainId, async () => {
          if (this.has(chainId)) {
            // Someone else committed the same layer meanwhile; theirs stays.
            await rm(tmp, { recursive: true, force: true });
            done = true;
            return;
          }
          const final = join(this.dir, hex);
          // A directory without a record is a leftover (reconcile removes them too).
          await rm(final, { recursive: true, force: true });
          await rename(tmp, final);
          done = true;
          this.store.db
            .prepare('INSERT INTO layers (chain_id, diff_id, parent, size, inodes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
            .run(chainId, info.diffId, info.parent ?? null, info.size, info.inodes, Date.now());
          this.log.debug({ chain_id: chainId, size: info.size }, 'layer committed');
        }),
      abort: async () => {
        if (!done) await rm(tmp, { recursive: true, force: true });
        done = true;
      },
    };
  }

  /** Records that `holderId` (a container) uses these layers; they stay until release(). */
  acquire(holderId: string, chainIds: readonly string[]): void {
    if (!holderId) throw new KrillError('InvalidArgument', 'a layer holder needs an ID');
    this.store.transaction(() => {
      for (const chainId of chainIds) {
        if (!this.has(chainId)) throw new KrillError('NotFound', `layer ${chainId} is not in the layer store`);
        this.store.db.prepare('INSERT OR IGNORE INTO layer_holders (holder_id, chain_id) VALUES (?, ?)').run(holderId, chainId);
      }
    });
  }

  /** Drops every layer hold of `holderId`. Idempotent. */
  release(holderId: string): void {
    this.store.db.prepare('DELETE FROM layer_holders WHERE holder_id = ?').run(holderId);
  }

  holders(chainId: string): string[] {
    return (this.store.db.prepare('SELECT holder_id FROM layer_holders WHERE chain_id = ? ORDER BY holder_id').all(chainId) as { holder_id: string }[]).map((r) => r.holder_id);
  }

  /** Protects layers from gc() while a pull that needs them runs; call the returned function when done. */
  lease(chainIds: readonly string[]): () => void {
    return this.leases.take(chainIds);
  }

  /**
   * Removes every layer that `isUsed` (images) does not claim and that has no
   * holder and no lease. Returns the chain IDs removed.
   */
  async gc(isUsed: (chainId: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const info of this.list()) {
      if (isUsed(info.chainId)) continue;
      await this.locks.run(info.chainId, async () => {
        // Decide and forget in one synchronous step: a pull that leases later sees the layer gone.
        if (this.leases.has(info.chainId) || isUsed(info.chainId) || !this.has(info.chainId) || this.holders(info.chainId).length > 0) return;
        this.store.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(info.chainId);
        const hex = hexOf(info.chainId);
        const trash = join(this.dir, `trash-${hex.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
        await rename(join(this.dir, hex), trash);
        await rm(join(this.linksDir(), shortLinkName(this.diffDir(info.chainId))), { force: true });
        await rm(trash, { recursive: true, force: true });
        removed.push(info.chainId);
        this.log.debug({ chain_id: info.chainId, size: info.size }, 'layer removed');
      });
    }
    return removed;
  }
}
