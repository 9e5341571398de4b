// Which images are pinned (CRI Image.pinned: kubelet's image GC never removes
// them): the configured pause image and image.pinned_images. An entry is an
// image reference, normalized as pull references are ("busybox" is
// docker.io/library/busybox:latest; with a digest it names that repo digest),
// or a prefix ending in "*" that is matched against the full names ListImages
// reports ("docker.io/library/busy*", "127.0.0.1:5055/*"), as CRI-O's
// pinned_images does with its glob form.
import { parseReference, repoDigest, repoTag, ReferenceError } from './reference';

/** Why `entry` is not a valid pinned_images entry, or undefined when it is. */
export function pinnedPatternProblem(entry: string): string | undefined {
  if (entry.endsWith('*')) {
    const prefix = entry.slice(0, -1);
    if (prefix === '') return 'a prefix before the "*"';
    if (prefix.includes('*')) return '"*" only at the end';
    if (/\s/.test(prefix)) return 'no whitespace';
    return undefined;
  }
  try {
    parseReference(entry);
    return undefined;
  } catch (err) {
    if (err instanceof ReferenceError) return err.reason;
    throw err;
  }
}

/** Names an image is known by: its repo tags and repo digests. */
export interface ImageNames {
  repoTags: readonly string[];
  repoDigests: readonly string[];
}

export class PinnedImages {
  /** Normalized exact names: "repo:tag" or "repo@digest". */
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];

  /**
   * `entries` as validated by the config loader; an entry that is nonetheless
   * invalid (a pause image given by flag) is reported to `onInvalid` and ignored.
   */
  constructor(entries: readonly string[], onInvalid: (entry: string, problem: string) => void = () => undefined) {
    for (const entry of entries) {
      const problem = pinnedPatternProblem(entry);
      if (problem !== undefined) {
        onInvalid(entry, problem);
        continue;
      }
      if (entry.endsWith('*')) {
        this.prefixes.push(entry.slice(0, -1));
        continue;
      }
      const ref = parseReference(entry);
      if (ref.digest !== undefined) this.exact.add(repoDigest(ref, ref.digest));
      else this.exact.add(repoTag(ref)!);
    }
  }

  /** Whether any of the image's names matches an entry. */
  matches(image: ImageNames): boolean {
    for (const name of [...image.repoTags, ...image.repoDigests]) {
      if (this.exact.has(name)) return true;
      if (this.prefixes.some((p) => name.startsWith(p))) return true;
    }
    return false;
  }
}
