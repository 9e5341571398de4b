// Image references as Docker and the distribution spec write them:
// [domain[:port]/]path[:tag][@digest], with docker.io and `latest` as the
// defaults and "library/" for official docker.io images.

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]+)?$`);
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const MAX_NAME = 255;

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface Reference {
  /** Registry host as written in the reference after normalization ("docker.io", "127.0.0.1:5000"). */
  domain: string;
  /** Repository path within the registry ("library/busybox"). */
  path: string;
  /** The tag: the one written, or "latest" when neither tag nor digest was given. */
  tag?: string;
  digest?: string;
  /** Whether the text named a tag itself (rather than getting the default). */
  tagGiven: boolean;
}

export class ReferenceError extends Error {
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`invalid reference format ${JSON.stringify(text)}: ${reason}`);
    this.name = 'ReferenceError';
  }
}

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: DEFAULT_DOMAIN, path: `library/${name}` };
  const first = name.slice(0, slash);
  // A first component is a host only when it looks like one, as Docker decides.
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first) {
    return { domain: DEFAULT_DOMAIN, path: name };
  }
  let domain = first;
  let path = name.slice(slash + 1);
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}

/** Parses and normalizes a reference; throws ReferenceError naming what is wrong. */
export function parseReference(text: string): Reference {
  if (text === '') throw new ReferenceError(text, 'empty reference');
  if (text !== text.trim()) throw new ReferenceError(text, 'surrounding whitespace');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new ReferenceError(text, `invalid digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw new ReferenceError(text, `invalid tag ${JSON.stringify(tag)}`);
  }
  if (rest === '') throw new ReferenceError(text, 'no repository name');
  if (rest.length > MAX_NAME) throw new ReferenceError(text, `repository name longer than ${MAX_NAME} characters`);
  if (HEX64.test(rest)) throw new ReferenceError(text, 'a repository name cannot be a 64-character hexadecimal string (an image ID)');
  const { domain, path } = splitDomain(rest);
  if (!DOMAIN_RE.test(domain)) throw new ReferenceError(text, `invalid registry host ${JSON.stringify(domain)}`);
  if (path.toLowerCase() !== path) throw new ReferenceError(text, 'repository name must be lowercase');
  if (!PATH_RE.test(path)) throw new ReferenceError(text, `invalid repository path ${JSON.stringify(path)}`);
  const tagGiven = tag !== undefined;
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: Reference = { domain, path, tagGiven };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** "docker.io/library/busybox" */
export function repository(ref: Pick<Reference, 'domain' | 'path'>): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalized form: name, then :tag if any, then @digest if any. */
export function formatReference(ref: Reference): string {
  return `${repository(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** "repo:tag", or undefined for a digest-only reference. */
export function repoTag(ref: Reference): string | undefined {
  return ref.tag !== undefined ? `${repository(ref)}:${ref.tag}` : undefined;
}

export function repoDigest(ref: Pick<Reference, 'domain' | 'path'>, digest: string): string {
  return `${repository(ref)}@${digest}`;
}

/** Whether `text` is a full image ID: "sha256:<64 hex>" or the 64 hex alone. */
export function isFullImageId(text: string): boolean {
  return HEX64.test(text.startsWith('sha256:') ? text.slice(7) : text);
}

/** Whether `text` could be (a prefix of) an image ID. */
export function looksLikeIdPrefix(text: string): boolean {
  return /^(sha256:)?[a-f0-9]{1,64}$/.test(text);
}
