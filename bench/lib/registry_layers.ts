// An image's layers as the local test registry serves them (plain HTTP, no
// auth), for the pull benchmark's floor and its size facts: the manifest (the
// linux/amd64 one of an index), each layer's digest, media type and size,
// and the blob URL to fetch it from. Independent of Krill's puller.

export interface LayerBlob {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageLayers {
  /** repository/name:tag, without the registry. */
  ref: string;
  repository: string;
  manifestDigest: string;
  layers: LayerBlob[];
}

export type Decompressor = 'gzip' | 'zstd' | 'none';

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** "krill-test/large:latest" → repository and tag (the tag defaults to latest). */
export function splitRef(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: 'latest' };
}

/** How a layer of this media type is decompressed. */
export function decompressorOf(mediaType: string): Decompressor {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar')) return 'none';
  throw new Error(`unknown layer media type ${mediaType}`);
}

interface Descriptor {
  digest: string;
  mediaType?: string;
  size: number;
  platform?: { os?: string; architecture?: string };
}

interface ManifestJson {
  mediaType?: string;
  manifests?: Descriptor[];
  layers?: Descriptor[];
}

/** The linux/amd64 entry of an index (or the first one when none says so). */
export function pickPlatform(manifests: readonly Descriptor[]): Descriptor {
  const m = manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64') ?? manifests[0];
  if (!m) throw new Error('an empty image index');
  return m;
}

/** The layers of a manifest document; `undefined` for an index (see pickPlatform). */
export function layersOf(doc: ManifestJson, contentType: string): LayerBlob[] | undefined {
  if (doc.manifests) return undefined;
  if (!doc.layers) throw new Error(`a manifest without layers (${doc.mediaType ?? contentType})`);
  return doc.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType ?? 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.size }));
}

export function blobUrl(registry: string, repository: string, digest: string): string {
  return `http://${registry}/v2/${repository}/blobs/${digest}`;
}

async function getManifest(registry: string, repository: string, reference: string): Promise<{ doc: ManifestJson; digest: string; type: string }> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, { headers: { accept: ACCEPT }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${registry}/${repository}:${reference}: the registry answers ${res.status} (bench/images.sh and hack/test-images --large push the pull benchmark's images)`);
  const digest = res.headers.get('docker-content-digest') ?? reference;
  return { doc: (await res.json()) as ManifestJson, digest, type: res.headers.get('content-type') ?? '' };
}

/** The layers of `ref` (repository:tag) as `registry` serves them now. */
export async function fetchLayers(registry: string, ref: string): Promise<ImageLayers> {
  const { repository, tag } = splitRef(ref);
  let m = await getManifest(registry, repository, tag);
  let layers = layersOf(m.doc, m.type);
  if (!layers) {
    m = await getManifest(registry, repository, pickPlatform(m.doc.manifests!).digest);
    layers = layersOf(m.doc, m.type);
    if (!layers) throw new Error(`${ref}: an index inside an index`);
  }
  return { ref, repository, manifestDigest: m.digest, layers };
}
