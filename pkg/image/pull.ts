// One pull: resolve the reference to a manifest (choosing the node's platform
// from an index), fetch the config, then download and unpack the missing
// layers in parallel, each streamed registry → size/digest check →
// decompression → diff ID check → tar unpack, and commit them to the layer
// store. The image record is written last, so a pull that fails leaves no
// record; what it committed and nothing else uses is collected again.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { KrillConfig } from '../config/config';
import type { Logger } from '../log/logger';
import type { LayerStore } from '../storage/layers';
import { normalizeAuthHost, type AuthFile, type Credentials } from './auth';
import type { ContentStore } from './content';
import { credentialsForEndpoint, criCredentialsHost } from './credential_policy';
import { chainIds as computeChainIds, sha256Digest } from './digest';
import { endpointsFor } from './endpoints';
import { isTransientNetworkError, readBody } from './http';
import { chooseManifest, ManifestError, MAX_METADATA_BYTES, parseImageConfig, parseManifest, type Descriptor, type ImageManifest } from './manifest';
import { normalizePlatform, platformRank, formatPlatform, type Platform } from './platform';
import type { LayerTracker, PullProgress } from './progress';
import { repoDigest, repoTag, type Reference } from './reference';
import type { ImageStore, StoredImage, StoredLayer, RefKind } from './records';
import { RegistryError, RepositoryClient, type RegistrySession } from './registry';
import type { SharedWork } from './shared';
import type { UnpackPool } from './unpack_pool';
import { VerifyError } from './verify';
import { crashPoint } from '../util/crash_points';

const LAYER_ATTEMPTS = 3;

export interface PullDeps {
  config: KrillConfig['image'];
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  session: RegistrySession;
  authFile: AuthFile;
  platform: Platform;
  /** Layer downloads in flight, shared by every pull. */
  layerWork: SharedWork<void>;
  /** The worker threads that verify and unpack layers. */
  unpackPool: UnpackPool;
}

export interface PullResult {
  id: string;
  /** Bytes downloaded by this pull (layers it fetched itself, and metadata). */
  downloaded: number;
}

function limit(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** Errors a fresh attempt of a layer download may cure: the connection, not the content. */
function retryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.kind === 'unavailable';
  if (err instanceof VerifyError || err instanceof ManifestError) return false;
  return isTransientNetworkError(err);
}

/** Errors from decompression or unpacking get the layer's digest in front, unless they name it already. */
function nameLayer(err: unknown, what: string): unknown {
  if (err instanceof Error && !(err instanceof RegistryError) && !err.message.includes(what)) err.message = `${what}: ${err.message}`;
  return err;
}

export class Puller {
  private readonly client: RepositoryClient;
  private downloaded = 0;
  /** The chain IDs of the image, once its config is known. */
  chainIds: Set<string> | undefined;

  constructor(
    private readonly ref: Reference,
    credentials: Credentials | undefined,
    ca: string | undefined,
    private readonly deps: PullDeps,
    private readonly progress: PullProgress,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {
    const sources = { domain: ref.domain, cri: credentials, authFile: deps.authFile };
    const endpoints = endpointsFor(ref.domain, deps.config.registries, ca);
    if (credentials?.serverAddress && criCredentialsHost(credentials, ref.domain) !== normalizeAuthHost(ref.domain)) {
      const owner = criCredentialsHost(credentials, ref.domain);
      log.debug({ server_address: credentials.serverAddress }, `the request's credentials are for ${owner}, not ${ref.domain}: only an endpoint on ${owner} gets them; the auth file applies to the others`);
    }
    this.client = new RepositoryClient(endpoints, ref.path, {
      session: deps.session,
      credentials: (ep) => credentialsForEndpoint(ep, sources),
      idleTimeoutMs: deps.config.pull_progress_timeout,
      signal,
      log,
    });
  }

  /** Reads a registry's CA file for `domain`, if one is configured. */
  static async caFor(config: KrillConfig['image'], domain: string): Promise<string | undefined> {
    const file = config.registries[domain]?.ca_file;
    if (!file) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new RegistryError('invalid', `ca_file ${file} of registry ${domain} cannot be read: ${(err as Error).message}`);
    }
  }

  private async manifest(reference: string, expect?: Descriptor): Promise<{ bytes: Buffer; digest: string; contentType: string | undefined }> {
    if (expect) {
      const local = await this.deps.content.read(expect.digest);
      if (local && local.length === expect.size) return { bytes: local, digest: expect.digest, contentType: expect.mediaType };
    }
    const got = await this.client.getManifest(reference);
    this.downloaded += got.bytes.length;
    const digest = sha256Digest(got.bytes);
    if (expect && digest !== expect.digest) throw new VerifyError(`manifest ${expect.digest} from ${got.endpoint.host}: content does not match its digest (got ${digest})`);
    if (expect && got.bytes.length !== expect.size) throw new VerifyError(`manifest ${expect.digest}: got ${got.bytes.length} bytes, its descriptor declares ${expect.size}`);
    return { bytes: got.bytes, digest, contentType: got.contentType };
  }

  private async smallBlob(desc: Descriptor, what: string): Promise<Buffer> {
    const local = await this.deps.content.read(desc.digest);
    if (local && local.length === desc.size) return local;
    if (desc.size > MAX_METADATA_BYTES) throw new ManifestError(`${what} is ${desc.size} bytes, more than Krill reads`);
    const res = await this.client.openBlob(desc);
    const bytes = await readBody(res, desc.size + 1);
    this.downloaded += bytes.length;
    if (bytes.length > desc.size) throw new VerifyError(`${what} ${desc.digest}: the registry sent more than the ${desc.size} bytes its descriptor declares`);
    if (bytes.length !== desc.size) throw new VerifyError(`${what} ${desc.digest}: got ${bytes.length} bytes, its descriptor declares ${desc.size}`);
    const digest = sha256Digest(bytes);
    if (digest !== desc.digest) throw new VerifyError(`${what} ${desc.digest}: content does not match its digest (got ${digest})`);
    return bytes;
  }

  async run(): Promise<PullResult> {
    const { ref, deps } = this;
    const top = await this.manifest(ref.digest ?? ref.tag!, undefined);
    const name = `${ref.domain}/${ref.path}`;
    if (ref.digest && top.digest !== ref.digest) {
      throw new VerifyError(`manifest of ${name}@${ref.digest}: content does not match the requested digest (got ${top.digest})`);
    }
    const blobs = new Map<string, Buffer>([[top.digest, top.bytes]]);
    let parsed = parseManifest(top.bytes, top.contentType, `manifest of ${name}`);
    let manifestDigest = top.digest;
    let indexDigest: string | undefined;
    if (parsed.kind === 'index') {
      indexDigest = top.digest;
      const chosen = chooseManifest(parsed, deps.platform, `index ${top.digest} of ${name}`);
      this.log.debug({ manifest: chosen.digest, platform: chosen.platform }, 'chose the manifest for this platform');
      const m = await this.manifest(chosen.digest, chosen);
      blobs.set(m.digest, m.bytes);
      parsed = parseManifest(m.bytes, m.contentType ?? chosen.mediaType, `manifest ${m.digest} of ${name}`);
      if (parsed.kind !== 'manifest') throw new ManifestError(`manifest ${m.digest} of ${name} is an index inside an index, which Krill does not follow`);
      manifestDigest = m.digest;
    }
    const manifest: ImageManifest = parsed;
    const configBytes = await this.smallBlob(manifest.config, `config of ${name}`);
    blobs.set(manifest.config.digest, configBytes);
    const config = parseImageConfig(configBytes, `config ${manifest.config.digest} of ${name}`);
    if (config.diffIds.length !== manifest.layers.length) {
      throw new ManifestError(`image ${name}: the manifest lists ${manifest.layers.length} layers but the config has ${config.diffIds.length} diff IDs`);
    }
    const platform = normalizePlatform({ os: config.os || 'linux', architecture: config.architecture || deps.platform.architecture, ...(config.variant ? { variant: config.variant } : {}) });
    if (platformRank(deps.platform, platform) === undefined) {
      throw new ManifestError(`image ${name} is for ${formatPlatform(platform)} and cannot run on this ${formatPlatform(deps.platform)} node`);
    }
    const chain = computeChainIds(config.diffIds);
    this.chainIds = new Set(chain);
    const layers: StoredLayer[] = manifest.layers.map((d, i) => ({ digest: d.digest, mediaType: d.mediaType, size: d.size, diffId: config.diffIds[i]!, chainId: chain[i]! }));

    const releaseLayers = deps.layers.lease(chain);
    const releaseBlobs = deps.content.lease(blobs.keys());
    try {
      await this.fetchLayers(layers);
      for (const [digest, bytes] of blobs) await deps.content.write(digest, bytes);
      let size = 0;
      for (const l of layers) size += deps.layers.get(l.chainId)?.size ?? 0;
      for (const bytes of blobs.values()) size += bytes.length;
      const image: StoredImage = {
        id: manifest.config.digest,
        layers,
        config: config.config,
        platform,
        manifestDigest,
        manifestMediaType: manifest.mediaType,
        size,
        pulledAt: Date.now(),
      };
      if (indexDigest) image.indexDigest = indexDigest;
      if (config.created) image.created = config.created;
      const refs: { ref: string; kind: RefKind }[] = [];
      // With tag and digest both given the digest decides (as Docker does): the tag is not recorded.
      const tag = ref.digest ? undefined : repoTag(ref);
      if (tag) refs.push({ ref: tag, kind: 'tag' });
      refs.push({ ref: repoDigest(ref, top.digest), kind: 'digest' });
      deps.images.save(image, refs, [...blobs.keys()]);
      crashPoint('image.pull.recorded');
      return { id: image.id, downloaded: this.downloaded };
    } finally {
      releaseBlobs();
      releaseLayers();
    }
  }

  private async fetchLayers(layers: StoredLayer[]): Promise<void> {
    const { deps } = this;
    const run = limit(deps.config.max_concurrent_downloads);
    const trackers = layers.map((l) => this.progress.layer(l.digest, l.size, deps.layers.has(l.chainId)));
    // The first failure stops the other layers of this pull.
    const failFast = new AbortController();
    const signal = AbortSignal.any([this.signal, failFast.signal]);
    this.progress.begin();
    try {
      const results = await Promise.allSettled(
        layers.map((l, i) => {
          if (deps.layers.has(l.chainId)) return Promise.resolve();
          const parent = i > 0 ? layers[i - 1]!.chainId : undefined;
          return run(async () => {
            if (signal.aborted) throw signal.reason;
            if (deps.layers.has(l.chainId)) return;
            const shared = deps.layerWork.run(l.chainId, signal, (s) => this.fetchLayer(l, parent, trackers[i]!, s));
            if (shared.joined) this.log.debug({ layer: l.digest }, 'joined a download of the same layer in flight');
            try {
              await shared.promise;
            } catch (err) {
              if (!failFast.signal.aborted) failFast.abort(err);
              throw err;
            }
            trackers[i]!.finish();
          });
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        // Let the layer downloads this pull stopped remove their temporary directories first.
        await deps.layerWork.drain();
        throw failFast.signal.aborted ? failFast.signal.reason : failed.reason;
      }
    } finally {
      this.progress.end();
    }
  }

  private async fetchLayer(l: StoredLayer, parent: string | undefined, tracker: LayerTracker, signal: AbortSignal): Promise<void> {
    const what = `layer ${l.digest}`;
    // The download may outlive this pull (another pull joined it): it follows its own signal.
    const client = this.client.withSignal(signal);
    for (let attempt = 1; ; attempt++) {
      const prepared = await this.deps.layers.prepare(l.chainId);
      let body: Readable | undefined;
      try {
        tracker.reset();
        tracker.start();
        const open = async (): Promise<Readable> => {
          const res = await client.openBlob({ digest: l.digest, size: l.size, mediaType: l.mediaType });
          body = res.body;
          const announced = Number(res.headers['content-length']);
          if (Number.isFinite(announced) && announced > l.size) {
            throw new VerifyError(`${what}: the registry announces ${announced} bytes, its descriptor declares ${l.size}`);
          }
          return res.body;
        };
        const result = await this.deps.unpackPool.unpack({ dir: prepared.dir, digest: l.digest, size: l.size, diffId: l.diffId, what }, open, {
          signal,
          onBytes: (n) => {
            this.downloaded += n;
            tracker.add(n);
          },
          onWarning: (message) => this.log.warn({ layer: l.digest, chain_id: l.chainId }, message),
        });
        crashPoint('image.pull.layer-unpacked');
        await prepared.commit({ diffId: l.diffId, ...(parent ? { parent } : {}), size: result.size, inodes: result.inodes });
        crashPoint('image.pull.layer-committed');
        this.log.debug({ layer: l.digest, chain_id: l.chainId, size: result.size, compressed: l.size }, 'layer unpacked');
        return;
      } catch (err) {
        body?.destroy();
        await prepared.abort();
        if (signal.aborted) throw signal.reason;
        if (attempt < LAYER_ATTEMPTS && retryable(err)) {
          this.log.warn({ layer: l.digest, attempt, err: (err as Error).message }, 'layer download failed; retrying');
          continue;
        }
        throw nameLayer(err, what);
      }
    }
  }
}
