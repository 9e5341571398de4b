// Content digests ("sha256:<hex>") and the chain IDs that name a stack of
// layers: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
import { createHash } from 'node:crypto';

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function isSha256Digest(text: unknown): text is string {
  return typeof text === 'string' && SHA256_RE.test(text);
}

/** Throws a message naming `what` unless `digest` is a sha256 digest Krill can verify. */
export function checkDigest(digest: unknown, what: string): string {
  if (isSha256Digest(digest)) return digest;
  if (typeof digest === 'string' && /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(digest) && !digest.startsWith('sha256:')) {
    throw new Error(`${what}: digest algorithm of ${digest} is not supported (only sha256)`);
  }
  throw new Error(`${what}: invalid digest ${JSON.stringify(digest)}`);
}

export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Chain IDs of a stack of diff IDs, bottom layer first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : sha256Digest(`${parent} ${diffId}`));
  }
  return out;
}
