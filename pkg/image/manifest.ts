// Parsing and validating what a registry serves: OCI and Docker schema 2
// manifests, OCI indexes and Docker manifest lists, and image configs.
// Everything is checked here so that the puller can trust the shapes.
import { checkDigest } from './digest';
import { normalizePlatform, platformRank, type Platform, formatPlatform } from './platform';

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What Krill asks a registry for, best first. */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.DockerList, MediaType.OciManifest, MediaType.DockerManifest].join(', ');

const LAYER_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

/** The largest manifest, index or config Krill reads into memory. */
export const MAX_METADATA_BYTES = 8 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of an image config that containers are created from. */
export interface ContainerDefaults {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Volumes?: Record<string, object>;
  ExposedPorts?: Record<string, object>;
  StopSignal?: string;
  Labels?: Record<string, string>;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config: ContainerDefaults;
  diffIds: string[];
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ManifestError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new ManifestError(`${what} is not a JSON object`);
  return doc;
}

function descriptor(raw: unknown, what: string): Descriptor {
  if (!isObject(raw)) throw new ManifestError(`${what} is not a descriptor object`);
  const { mediaType, digest, size, platform } = raw;
  if (typeof mediaType !== 'string' || mediaType === '') throw new ManifestError(`${what} has no mediaType`);
  try {
    checkDigest(digest, what);
  } catch (err) {
    throw new ManifestError((err as Error).message);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ManifestError(`${what} has an invalid size ${JSON.stringify(size)}`);
  const d: Descriptor = { mediaType, digest: digest as string, size };
  if (isObject(platform) && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    d.platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string' && platform.variant) d.platform.variant = platform.variant;
  }
  return d;
}

function refuseSchema1(mediaType: string | undefined, doc: Record<string, unknown>, what: string): void {
  if (mediaType === MediaType.DockerSchema1 || mediaType === MediaType.DockerSchema1Signed || doc.schemaVersion === 1) {
    throw new ManifestError(`${what} is a Docker schema 1 manifest, which Krill does not support (it is deprecated and unverifiable); push the image again with a current tool`);
  }
}

/**
 * Parses a manifest or an index. `contentType` is the registry's
 * Content-Type; the document's own mediaType field wins when present.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ImageManifest | ImageIndex {
  const doc = parseJson(bytes, what);
  const ct = contentType?.split(';')[0]!.trim();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  refuseSchema1(declared ?? ct, doc, what);
  if (doc.schemaVersion !== 2) throw new ManifestError(`${what} has schemaVersion ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  let mediaType = declared ?? ct ?? '';
  if (![MediaType.OciIndex, MediaType.DockerList, MediaType.OciManifest, MediaType.DockerManifest].includes(mediaType as never)) {
    // Some registries answer application/json or octet-stream; OCI documents may omit mediaType.
    if (Array.isArray(doc.manifests)) mediaType = MediaType.OciIndex;
    else if (isObject(doc.config) && Array.isArray(doc.layers)) mediaType = MediaType.OciManifest;
    else throw new ManifestError(`${what} has an unsupported media type ${JSON.stringify(declared ?? ct ?? '')}`);
  }
  if (mediaType === MediaType.OciIndex || mediaType === MediaType.DockerList) {
    if (!Array.isArray(doc.manifests)) throw new ManifestError(`${what} is an index without a manifests list`);
    return { kind: 'index', mediaType, manifests: doc.manifests.map((m, i) => descriptor(m, `${what} manifests[${i}]`)) };
  }
  if (!Array.isArray(doc.layers)) throw new ManifestError(`${what} has no layers list`);
  const config = descriptor(doc.config, `${what} config`);
  if (config.size > MAX_METADATA_BYTES) throw new ManifestError(`${what} config is ${config.size} bytes, more than Krill reads (${MAX_METADATA_BYTES})`);
  const layers = doc.layers.map((l, i) => {
    const d = descriptor(l, `${what} layers[${i}]`);
    if (!LAYER_TYPES.has(d.mediaType)) throw new ManifestError(`${what} layers[${i}] has an unsupported media type ${JSON.stringify(d.mediaType)}`);
    return d;
  });
  return { kind: 'manifest', mediaType, config, layers };
}

/** The index entry that suits `host` best; throws listing what the index offers. */
export function chooseManifest(index: ImageIndex, host: Platform, what: string): Descriptor {
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of index.manifests) {
    if (d.mediaType !== MediaType.OciManifest && d.mediaType !== MediaType.DockerManifest) continue;
    if (!d.platform) continue;
    const rank = platformRank(host, d.platform);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { d, rank };
  }
  if (!best) {
    const offered = index.manifests.filter((d) => d.platform).map((d) => formatPlatform(normalizePlatform(d.platform!)));
    throw new ManifestError(`${what} has no image for ${formatPlatform(host)} (it offers ${offered.length ? offered.join(', ') : 'no platforms'})`);
  }
  return best.d;
}

function stringList(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new ManifestError(`${what} is not a list of strings`);
  return v as string[];
}

function objectMap(v: unknown, what: string): Record<string, object> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ManifestError(`${what} is not an object`);
  return Object.fromEntries(Object.keys(v).map((k) => [k, {}]));
}

export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  const doc = parseJson(bytes, what);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) throw new ManifestError(`${what} has no rootfs.diff_ids`);
  if (rootfs.type !== 'layers') throw new ManifestError(`${what} has rootfs.type ${JSON.stringify(rootfs.type)}, expected "layers"`);
  const diffIds = rootfs.diff_ids.map((d, i) => {
    try {
      return checkDigest(d, `${what} rootfs.diff_ids[${i}]`);
    } catch (err) {
      throw new ManifestError((err as Error).message);
    }
  });
  const c = isObject(doc.config) ? doc.config : {};
  const str = (v: unknown, key: string): string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new ManifestError(`${what} config.${key} is not a string`);
    return v;
  };
  const config: ContainerDefaults = {};
  const user = str(c.User, 'User');
  if (user !== undefined) config.User = user;
  const env = stringList(c.Env, `${what} config.Env`);
  if (env) config.Env = env;
  const entrypoint = stringList(c.Entrypoint, `${what} config.Entrypoint`);
  if (entrypoint) config.Entrypoint = entrypoint;
  const cmd = stringList(c.Cmd, `${what} config.Cmd`);
  if (cmd) config.Cmd = cmd;
  const wd = str(c.WorkingDir, 'WorkingDir');
  if (wd !== undefined) config.WorkingDir = wd;
  const volumes = objectMap(c.Volumes, `${what} config.Volumes`);
  if (volumes) config.Volumes = volumes;
  const ports = objectMap(c.ExposedPorts, `${what} config.ExposedPorts`);
  if (ports) config.ExposedPorts = ports;
  const stop = str(c.StopSignal, 'StopSignal');
  if (stop !== undefined) config.StopSignal = stop;
  if (c.Labels !== undefined && c.Labels !== null) {
    if (!isObject(c.Labels) || !Object.values(c.Labels).every((v) => typeof v === 'string')) throw new ManifestError(`${what} config.Labels is not a map of strings`);
    config.Labels = c.Labels as Record<string, string>;
  }
  const out: ImageConfig = {
    architecture: typeof doc.architecture === 'string' ? doc.architecture : '',
    os: typeof doc.os === 'string' ? doc.os : '',
    config,
    diffIds,
  };
  if (typeof doc.variant === 'string' && doc.variant) out.variant = doc.variant;
  if (typeof doc.created === 'string') out.created = doc.created;
  return out;
}
