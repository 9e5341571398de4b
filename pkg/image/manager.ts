// The image manager: pulls (shared when the same image is pulled twice at
// once), resolution of every reference form CRI allows, listing, removal with
// garbage collection of layers and blobs nothing uses any more, and the
// numbers ImageFsInfo reports. Containers use resolve() and the layer store.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { KrillConfig } from '../config/config';
import { KrillError, invalidArgument } from '../errors/errors';
import type { Logger } from '../log/logger';
import { LayerStore } from '../storage/layers';
import type { Store } from '../store/db';
import { AmbiguousIdError, matchIdPrefix } from '../util/id';
import { AuthFile, type Credentials } from './auth';
import { ContentStore } from './content';
import { pullError } from './errors';
import type { ContainerDefaults } from './manifest';
import { hostPlatform, type Platform } from './platform';
import { PinnedImages } from './pinned';
import { PullProgress, type ProgressSnapshot } from './progress';
import { Puller } from './pull';
import { formatReference, isFullImageId, looksLikeIdPrefix, parseReference, repoDigest, repository, repoTag, ReferenceError, type Reference } from './reference';
import { ImageStore, type StoredImage } from './records';
import { RegistrySession } from './registry';
import { SharedWork } from './shared';
import { UnpackPool } from './unpack_pool';

/** What containers are created from. */
export interface ImageRecord {
  /** The config digest, "sha256:<hex>". */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Bytes on disk: unpacked layers and metadata. */
  size: number;
  pinned: boolean;
  /** Chain IDs of the layers, bottom first (LayerStore.diffDir() gives their directories). */
  chainIds: string[];
  config: ContainerDefaults;
  /** From config.User: the uid when it is numeric, else the user name (group part dropped). */
  uid?: number;
  username?: string;
}

export interface ImageEvents {
  'pull-start': [{ image: string }];
  progress: [ProgressSnapshot];
  'pull-done': [{ image: string; id: string; seconds: number; bytes: number }];
  'pull-failed': [{ image: string; code: string; message: string; seconds: number }];
}

export interface ImageStats {
  pullsStarted: number;
  pullsSucceeded: number;
  pullsFailed: number;
  /** Compressed bytes downloaded from registries (layers and metadata). */
  bytesDownloaded: number;
}

export type ImageSettings = KrillConfig['image'];

export interface ImageManagerOptions {
  config: KrillConfig;
  store: Store;
  log: Logger;
  platform?: Platform;
}

export interface PullOptions {
  credentials?: Credentials;
  signal?: AbortSignal;
  log?: Logger;
}

/** "1001", "1001:2002" → uid 1001; "alice", "alice:staff" → username alice. */
export function imageUser(user: string | undefined): { uid?: number; username?: string } {
  const name = (user ?? '').split(':')[0]!;
  if (name === '') return {};
  if (/^\d+$/.test(name)) return { uid: Number(name) };
  return { username: name };
}

export class ImageManager {
  readonly events = new EventEmitter<ImageEvents>();
  readonly stats: ImageStats = { pullsStarted: 0, pullsSucceeded: 0, pullsFailed: 0, bytesDownloaded: 0 };
  private readonly pulls = new SharedWork<string>();
  private readonly layerWork = new SharedWork<void>();
  private readonly session = new RegistrySession();
  private readonly unpackPool: UnpackPool;
  private readonly platform: Platform;
  /** The image settings pulls and listings read; replaced whole by a reload (applySettings). */
  private settings: ImageSettings;
  private pinned: PinnedImages;

  private constructor(
    config: KrillConfig,
    readonly images: ImageStore,
    readonly content: ContentStore,
    readonly layers: LayerStore,
    private readonly log: Logger,
    platform: Platform,
  ) {
    this.platform = platform;
    // One worker per concurrent download, so that no open response waits (idle) for a worker.
    this.unpackPool = new UnpackPool(config.image.max_concurrent_downloads, {
      maxEntries: config.image.max_layer_entries,
      zstdWindowLogMax: config.image.zstd_max_window_log,
    });
    this.settings = config.image;
    this.pinned = this.pinnedImages(config.image);
  }

  private pinnedImages(settings: ImageSettings): PinnedImages {
    const entries = [...(settings.pause_image ? [settings.pause_image] : []), ...settings.pinned_images];
    return new PinnedImages(entries, (entry, problem) =>
      this.log.warn({ image: entry, problem }, entry === settings.pause_image ? 'image.pause_image is not a valid reference; it is not pinned' : 'an image.pinned_images entry is not valid; ignored'),
    );
  }

  /**
   * Live reload: the registries, mirrors, auth and CA files, timeouts and
   * pinned images of pulls that start from now on and of every listing.
   * Pulls in flight finish with the settings they started with. The pool of
   * unpack workers keeps its size (image.max_concurrent_downloads and the
   * unpack limits need a restart).
   */
  applySettings(settings: ImageSettings): void {
    this.pinned = this.pinnedImages(settings);
    this.settings = settings;
  }

  static async open(opts: ImageManagerOptions): Promise<ImageManager> {
    const log = opts.log.child({ component: 'images' });
    const images = new ImageStore(opts.store);
    const layers = await LayerStore.open(opts.store, join(opts.config.root, 'layers'), log);
    const content = await ContentStore.open(join(opts.config.root, 'content'), log);
    return new ImageManager(opts.config, images, content, layers, log, opts.platform ?? hostPlatform());
  }

  /** Recovery after a crash: images whose layers are gone are dropped; unused layers and blobs are collected. */
  async recover(): Promise<void> {
    for (const image of this.images.list()) {
      const missing = image.layers.filter((l) => !this.layers.has(l.chainId));
      if (missing.length > 0) {
        this.log.warn({ image_id: image.id, missing: missing.map((l) => l.chainId) }, 'image has lost layers; removing its record');
        this.images.delete(image.id);
      }
    }
    await this.collect();
  }

  private async collect(only?: ReadonlySet<string>): Promise<void> {
    const removed = await this.layers.gc((chainId) => (only !== undefined && !only.has(chainId)) || this.images.isLayerUsed(chainId));
    const blobs = only ? [] : await this.content.gc((digest) => this.images.isBlobUsed(digest));
    if (removed.length || blobs.length) this.log.info({ layers: removed.length, blobs: blobs.length }, 'removed unused layers and blobs');
  }

  /** Pulls `image` and returns its ID. A second pull of the same reference joins the first. */
  async pull(image: string, opts: PullOptions = {}): Promise<string> {
    let ref: Reference;
    try {
      ref = parseReference(image);
    } catch (err) {
      throw pullError(image, err);
    }
    const name = formatReference(ref);
    const c = opts.credentials;
    const identity = c ? JSON.stringify([c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? '', c.serverAddress ?? '']) : '';
    const shared = this.pulls.run(`${name}\n${identity}`, opts.signal, (signal) => this.pullOnce(ref, name, c, signal, opts.log ?? this.log));
    if (shared.joined) (opts.log ?? this.log).info({ image_ref: name }, 'joining a pull of the same image in flight');
    return shared.promise;
  }

  private async pullOnce(ref: Reference, name: string, credentials: Credentials | undefined, signal: AbortSignal, parentLog: Logger): Promise<string> {
    const log = parentLog.child({ image_ref: name });
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    this.stats.pullsStarted++;
    this.events.emit('pull-start', { image: name });
    log.info('pull started');
    const progress = new PullProgress(
      name,
      this.settings.progress_log_interval,
      (s) => {
        log.info(
          { bytes_done: s.bytesDone, bytes_total: s.bytesTotal, layers: s.layers.map((l) => `${l.digest.slice(7, 19)} ${l.state} ${l.done}/${l.total}`) },
          'pull progress',
        );
        this.events.emit('progress', s);
      },
      (n) => {
        this.stats.bytesDownloaded += n;
      },
    );
    let chainIds: Set<string> | undefined;
    try {
      const settings = this.settings;
      const authFile = await AuthFile.load(settings.auth_file);
      const ca = await Puller.caFor(settings, ref.domain);
      const puller = new Puller(
        ref,
        credentials,
        ca,
        { config: settings, content: this.content, layers: this.layers, images: this.images, session: this.session, authFile, platform: this.platform, layerWork: this.layerWork, unpackPool: this.unpackPool },
        progress,
        signal,
        log,
      );
      const result = await puller.run().catch((err: unknown) => {
        chainIds = puller.chainIds;
        throw err;
      });
      const s = seconds();
      this.stats.pullsSucceeded++;
      log.info({ image_id: result.id, seconds: Math.round(s * 1000) / 1000, bytes: result.downloaded }, 'pull done');
      this.events.emit('pull-done', { image: name, id: result.id, seconds: s, bytes: result.downloaded });
      return result.id;
    } catch (err) {
      const kerr = signal.aborted && !(err instanceof KrillError) ? new KrillError('Cancelled', `pull of ${name} was cancelled`, { cause: err }) : pullError(name, err);
      // What this pull committed and nothing else uses goes again.
      if (chainIds?.size) await this.collect(chainIds).catch((e: unknown) => log.warn({ err: e }, 'cleaning up after a failed pull failed'));
      this.stats.pullsFailed++;
      const s = seconds();
      log.warn({ code: kerr.code, error: kerr.message, seconds: Math.round(s * 1000) / 1000 }, 'pull failed');
      this.events.emit('pull-failed', { image: name, code: kerr.code, message: kerr.message, seconds: s });
      throw kerr;
    }
  }

  /** The image ID that `refOrId` names, or undefined. Throws InvalidArgument for a malformed reference. */
  resolveId(refOrId: string): string | undefined {
    if (refOrId === '') return undefined;
    if (isFullImageId(refOrId)) {
      const id = refOrId.startsWith('sha256:') ? refOrId : `sha256:${refOrId}`;
      return this.images.get(id) ? id : undefined;
    }
    let ref: Reference | undefined;
    try {
      // "sha256:<hex>" is an ID prefix, not the image "sha256" with a tag.
      if (!/^sha256:[a-f0-9]+$/.test(refOrId)) ref = parseReference(refOrId);
    } catch (err) {
      if (!looksLikeIdPrefix(refOrId)) throw invalidArgument(`image.image: ${(err as ReferenceError).message}`);
    }
    if (ref) {
      const found = ref.digest ? this.images.lookup(repoDigest(ref, ref.digest)) : this.images.lookup(repoTag(ref)!);
      if (found) return found;
      if (ref.tagGiven || ref.digest || !looksLikeIdPrefix(refOrId)) return undefined;
    }
    const prefix = refOrId.startsWith('sha256:') ? refOrId.slice(7) : refOrId;
    try {
      const hex = matchIdPrefix(
        this.images.ids().map((id) => id.slice(7)),
        prefix,
      );
      return hex ? `sha256:${hex}` : undefined;
    } catch (err) {
      if (err instanceof AmbiguousIdError) throw invalidArgument(`image.image: ID prefix ${JSON.stringify(refOrId)} matches more than one image`);
      throw err;
    }
  }

  /** The image `refOrId` names (tag, digest, tag+digest, full ID or ID prefix), or undefined. */
  resolve(refOrId: string): ImageRecord | undefined {
    const id = this.resolveId(refOrId);
    const stored = id ? this.images.get(id) : undefined;
    return stored ? this.toRecord(stored) : undefined;
  }

  /** The stored details of an image (manifest digests, layers), for verbose status. */
  stored(id: string): StoredImage | undefined {
    return this.images.get(id);
  }

  private toRecord(s: StoredImage): ImageRecord {
    const refs = this.images.refs(s.id);
    return {
      id: s.id,
      repoTags: refs.repoTags,
      repoDigests: refs.repoDigests,
      size: s.size,
      pinned: this.pinned.matches(refs),
      chainIds: s.layers.map((l) => l.chainId),
      config: s.config,
      ...imageUser(s.config.User),
    };
  }

  /**
   * Every image, or those `filter` names: a reference or ID names one image;
   * a repository without tag or digest names all of its images.
   */
  list(filter?: string): ImageRecord[] {
    const all = this.images.list().map((s) => this.toRecord(s));
    if (!filter) return all;
    const id = this.resolveId(filter);
    let repo: string | undefined;
    try {
      const ref = parseReference(filter);
      if (!ref.tagGiven && !ref.digest) repo = repository(ref);
    } catch {
      // an ID prefix
    }
    return all.filter((r) => r.id === id || (repo !== undefined && [...r.repoTags, ...r.repoDigests].some((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`))));
  }

  /**
   * Removes the image `refOrId` names with all its references (as containerd
   * does, even when containers use it: their layers are held separately),
   * then every layer and blob nothing uses any more. False when there was no such image.
   */
  async remove(refOrId: string): Promise<boolean> {
    const id = this.resolveId(refOrId);
    if (!id) return false;
    const existed = this.images.delete(id);
    if (existed) this.log.info({ image_id: id, image: refOrId }, 'image removed');
    await this.collect();
    return existed;
  }

  /**
   * Drops the layer holds of `holderId` (a removed container) and collects
   * the layers that nothing uses any more (their image may be gone already).
   */
  async releaseLayers(holderId: string): Promise<void> {
    this.layers.release(holderId);
    await this.collect();
  }

  /** Bytes and inodes used by images (layers and blobs), and the directory holding them. */
  async usage(): Promise<{ mountpoint: string; bytes: number; inodes: number }> {
    const l = this.layers.usage();
    const c = await this.content.usage();
    return { mountpoint: this.layers.dir, bytes: l.bytes + c.bytes, inodes: l.inodes + c.inodes };
  }

  /** Cancels pulls in flight (shutdown). */
  close(): void {
    const reason = new KrillError('Unavailable', 'krilld is shutting down');
    this.pulls.abortAll(reason);
    this.layerWork.abortAll(reason);
    void this.unpackPool.close();
    this.session.close();
  }
}
