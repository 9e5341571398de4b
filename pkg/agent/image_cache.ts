// Image caches (ImageCache, krill.dev/v1alpha1, cluster-scoped): which images
// this node must hold, the drop-in that pins them in krilld, when to pull again,
// and this node's entries of the status. Pure.

export const IMAGE_CACHE_DROPIN = '60-image-cache.toml';
export const IMAGE_CACHE_GROUP = 'krill.dev';
export const IMAGE_CACHE_VERSION = 'v1alpha1';
export const IMAGE_CACHE_PLURAL = 'imagecaches';

export interface ImageCache {
  name: string;
  images: string[];
  /** matchLabels of spec.nodeSelector; empty or absent selects every node. */
  matchLabels: Record<string, string>;
}

/** One node's record of one image, as the CR's status.nodes[] holds it. */
export interface NodeImageStatus {
  node: string;
  image: string;
  digest: string;
  pulled: boolean;
  error: string;
  lastPulled: string;
}

/** What the agent remembers of an image between passes. */
export interface ImageState {
  digest: string;
  pulled: boolean;
  error: string;
  /** When the digest last changed (RFC 3339), '' before the first pull. */
  lastPulled: string;
  /** When the agent last asked krilld to pull (ms since the epoch). */
  lastAttempt: number;
}

/** Reads an ImageCache object as the API returns it; undefined when its spec is unusable. */
export function parseImageCache(obj: unknown): ImageCache | undefined {
  const o = obj as { metadata?: { name?: unknown }; spec?: { images?: unknown; nodeSelector?: { matchLabels?: unknown } } };
  const name = o?.metadata?.name;
  const images = o?.spec?.images;
  if (typeof name !== 'string' || !Array.isArray(images)) return undefined;
  const matchLabels: Record<string, string> = {};
  const ml = o.spec?.nodeSelector?.matchLabels;
  if (ml && typeof ml === 'object') for (const [k, v] of Object.entries(ml)) if (typeof v === 'string') matchLabels[k] = v;
  return { name, images: images.filter((i): i is string => typeof i === 'string' && i.trim() !== '').map((i) => i.trim()), matchLabels };
}

export function selectsNode(cache: ImageCache, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(cache.matchLabels).every(([k, v]) => labels[k] === v);
}

/** The images this node must hold, sorted and without duplicates. */
export function cachedImages(caches: Iterable<ImageCache>, labels: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const c of caches) if (selectsNode(c, labels)) for (const i of c.images) out.add(i);
  return [...out].sort();
}

/** The drop-in that pins the images in krilld, or null when there are none (no drop-in). */
export function pinDropin(images: readonly string[]): string | null {
  if (images.length === 0) return null;
  // JSON string escapes are valid TOML basic strings.
  const list = images.map((i) => `  ${JSON.stringify(i)},`).join('\n');
  return `# Written by krill-agent from the ImageCache objects that select this node; edits here are overwritten.\n[image]\npinned_images = [\n${list}\n]\n`;
}

/**
 * Whether to ask krilld to pull `image` now: never pulled, or the last resolve is older than the
 * interval (krilld then fetches the manifest only and downloads layers only for a changed digest),
 * or the last attempt failed and the retry delay has passed.
 */
export function pullDue(state: ImageState | undefined, now: number, resolveSeconds: number, retrySeconds: number): boolean {
  if (state === undefined) return true;
  const wait = state.error !== '' ? retrySeconds : resolveSeconds;
  return now - state.lastAttempt >= wait * 1000;
}

export function afterPull(prev: ImageState | undefined, digest: string, now: number): ImageState {
  const changed = prev?.digest !== digest || !prev.pulled;
  return {
    digest,
    pulled: true,
    error: '',
    lastPulled: changed || !prev ? rfc3339(now) : prev.lastPulled,
    lastAttempt: now,
  };
}

export function afterPullError(prev: ImageState | undefined, error: string, now: number): ImageState {
  return { digest: prev?.digest ?? '', pulled: prev?.pulled ?? false, error, lastPulled: prev?.lastPulled ?? '', lastAttempt: now };
}

/** This node's entries for one cache's status. */
export function nodeEntries(node: string, cache: ImageCache, states: ReadonlyMap<string, ImageState>): NodeImageStatus[] {
  return cache.images.map((image) => {
    const s = states.get(image);
    return { node, image, digest: s?.digest ?? '', pulled: s?.pulled ?? false, error: s?.error ?? '', lastPulled: s?.lastPulled ?? '' };
  });
}

/** The manifest digest of a pulled image from its repo digests ("name@sha256:..."), preferring the one of the same repository. */
export function digestOf(image: string, repoDigests: readonly string[], fallback: string): string {
  const repo = image.split('@')[0]!.replace(/:[^/:]+$/, '');
  const same = repoDigests.find((d) => d.split('@')[0] === repo) ?? repoDigests.find((d) => d.split('@')[0]!.endsWith(`/${repo}`)) ?? repoDigests[0];
  return same?.split('@')[1] ?? fallback;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
