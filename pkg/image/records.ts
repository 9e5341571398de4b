// Image records in the state store. An image is named by its ID (the config
// digest); references (repo:tag and repo@digest) point at one image each, and
// the layers and blobs an image needs are listed so that garbage collection
// can ask "is this still used?" with one indexed query.
import type { Store } from '../store/db';
import type { ContainerDefaults } from './manifest';
import type { Platform } from './platform';

export interface StoredLayer {
  /** Digest and media type of the (compressed) blob in the manifest. */
  digest: string;
  mediaType: string;
  /** Compressed size, from the manifest. */
  size: number;
  diffId: string;
  chainId: string;
}

export interface StoredImage {
  /** The config digest ("sha256:..."). */
  id: string;
  layers: StoredLayer[];
  config: ContainerDefaults;
  platform: Platform;
  created?: string;
  /** The manifest this image was last pulled by, and the index above it if any. */
  manifestDigest: string;
  manifestMediaType: string;
  indexDigest?: string;
  /** Bytes on disk: unpacked layers plus the metadata blobs. */
  size: number;
  pulledAt: number;
}

export type RefKind = 'tag' | 'digest';

export interface ImageRefs {
  repoTags: string[];
  repoDigests: string[];
}

export class ImageStore {
  constructor(private readonly store: Store) {
    store.migrate('images', [
      {
        version: 1,
        sql: `CREATE TABLE images (id TEXT PRIMARY KEY, record TEXT NOT NULL, created_at INTEGER NOT NULL);
              CREATE TABLE image_refs (ref TEXT PRIMARY KEY, image_id TEXT NOT NULL, kind TEXT NOT NULL);
              CREATE INDEX image_refs_image ON image_refs (image_id);
              CREATE TABLE image_layers (image_id TEXT NOT NULL, chain_id TEXT NOT NULL, PRIMARY KEY (image_id, chain_id));
              CREATE INDEX image_layers_chain ON image_layers (chain_id);
              CREATE TABLE image_blobs (image_id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (image_id, digest));
              CREATE INDEX image_blobs_digest ON image_blobs (digest);`,
      },
    ]);
  }

  get(id: string): StoredImage | undefined {
    const row = this.store.db.prepare('SELECT record FROM images WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as StoredImage) : undefined;
  }

  list(): StoredImage[] {
    return (this.store.db.prepare('SELECT record FROM images ORDER BY created_at, id').all() as { record: string }[]).map((r) => JSON.parse(r.record) as StoredImage);
  }

  ids(): string[] {
    return (this.store.db.prepare('SELECT id FROM images ORDER BY created_at, id').all() as { id: string }[]).map((r) => r.id);
  }

  /** The image a reference ("repo:tag" or "repo@digest") points at. */
  lookup(ref: string): string | undefined {
    return (this.store.db.prepare('SELECT image_id FROM image_refs WHERE ref = ?').get(ref) as { image_id: string } | undefined)?.image_id;
  }

  refs(id: string): ImageRefs {
    const rows = this.store.db.prepare('SELECT ref, kind FROM image_refs WHERE image_id = ? ORDER BY rowid').all(id) as { ref: string; kind: RefKind }[];
    return { repoTags: rows.filter((r) => r.kind === 'tag').map((r) => r.ref), repoDigests: rows.filter((r) => r.kind === 'digest').map((r) => r.ref) };
  }

  /**
   * Records a pulled image (or updates it) and points `refs` at it, in one
   * transaction. A tag that pointed at another image moves here; that image
   * stays (untagged) until it is removed.
   */
  save(image: StoredImage, refs: { ref: string; kind: RefKind }[], blobs: string[]): void {
    const db = this.store.db;
    this.store.transaction(() => {
      const existing = db.prepare('SELECT created_at FROM images WHERE id = ?').get(image.id) as { created_at: number } | undefined;
      if (existing) db.prepare('UPDATE images SET record = ? WHERE id = ?').run(JSON.stringify(image), image.id);
      else db.prepare('INSERT INTO images (id, record, created_at) VALUES (?, ?, ?)').run(image.id, JSON.stringify(image), Date.now());
      for (const r of refs) {
        db.prepare('INSERT INTO image_refs (ref, image_id, kind) VALUES (?, ?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id, kind = excluded.kind').run(r.ref, image.id, r.kind);
      }
      for (const l of image.layers) db.prepare('INSERT OR IGNORE INTO image_layers (image_id, chain_id) VALUES (?, ?)').run(image.id, l.chainId);
      for (const b of blobs) db.prepare('INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?, ?)').run(image.id, b);
    });
  }

  /** Deletes an image and every reference to it. Returns whether it existed. */
  delete(id: string): boolean {
    const db = this.store.db;
    return this.store.transaction(() => {
      const r = db.prepare('DELETE FROM images WHERE id = ?').run(id);
      db.prepare('DELETE FROM image_refs WHERE image_id = ?').run(id);
      db.prepare('DELETE FROM image_layers WHERE image_id = ?').run(id);
      db.prepare('DELETE FROM image_blobs WHERE image_id = ?').run(id);
      return Number(r.changes) > 0;
    });
  }

  isLayerUsed(chainId: string): boolean {
    return this.store.db.prepare('SELECT 1 FROM image_layers WHERE chain_id = ? LIMIT 1').get(chainId) !== undefined;
  }

  isBlobUsed(digest: string): boolean {
    return this.store.db.prepare('SELECT 1 FROM image_blobs WHERE digest = ? LIMIT 1').get(digest) !== undefined;
  }
}
