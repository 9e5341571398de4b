// Registry credentials (from the CRI AuthConfig or a docker config.json) and
// the WWW-Authenticate challenges a registry answers with.
import { readFile } from 'node:fs/promises';
import { isErrno } from '../errors/errors';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token exchanged at the token endpoint. */
  identityToken?: string;
  /** A bearer token sent to the registry as is. */
  registryToken?: string;
  /**
   * The registry these were given for (a CRI AuthConfig's server_address, as
   * sent); absent: the registry of the image being pulled.
   */
  serverAddress?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/**
 * Parses a WWW-Authenticate header: one or more `Scheme k=v, k="v"` challenges
 * (RFC 7235). Unknown or malformed parts are skipped rather than fatal.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skipWs();
    while (i < n && header[i] === ',') {
      i++;
      skipWs();
    }
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skipWs();
      const save = i;
      const key = token();
      skipWs();
      if (!key || header[i] !== '=') {
        i = save;
        break;
      }
      i++;
      skipWs();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ') i++;
        value = header.slice(start, i);
      }
      challenge.params[key.toLowerCase()] = value;
      skipWs();
      if (header[i] === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  return out;
}

/** Decodes the `auth` field of an AuthConfig or a config.json entry: base64("user:password"). */
export function decodeBasicAuth(auth: string): { username: string; password: string } {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(auth) || colon <= 0) throw new AuthError('is not base64 of "username:password"');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export interface CriAuth {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}

/** Credentials from a PullImageRequest's AuthConfig; undefined when it carries none. */
export function credentialsFromCri(a: CriAuth | undefined): Credentials | undefined {
  if (!a) return undefined;
  const c: Credentials = {};
  if (a.username) c.username = a.username;
  if (a.password) c.password = a.password;
  if (a.auth && !a.username) Object.assign(c, decodeBasicAuth(a.auth));
  if (a.identityToken) c.identityToken = a.identityToken;
  if (a.registryToken) c.registryToken = a.registryToken;
  if (Object.keys(c).length === 0) return undefined;
  if (a.serverAddress) c.serverAddress = a.serverAddress;
  return c;
}

/**
 * The host a config.json key or a CRI server_address names, as containerd's
 * ParseAuth compares them (scheme and path stripped), with Docker Hub's
 * aliases folded: "https://index.docker.io/v1/" → "docker.io".
 */
export function normalizeAuthHost(key: string): string {
  let host = key.trim();
  host = host.replace(/^[a-z]+:\/\//i, '');
  host = host.split('/')[0]!.toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
  return host;
}

/** Credentials by host, read from a docker config.json (`auths`). */
export class AuthFile {
  private constructor(private readonly byHost: Map<string, Credentials>) {}

  static empty(): AuthFile {
    return new AuthFile(new Map());
  }

  static parse(text: string, source: string): AuthFile {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new AuthError(`${source} is not valid JSON: ${(err as Error).message}`);
    }
    const auths = (doc as { auths?: unknown } | null)?.auths;
    const byHost = new Map<string, Credentials>();
    if (auths === undefined) return new AuthFile(byHost);
    if (typeof auths !== 'object' || auths === null) throw new AuthError(`${source}: "auths" is not an object`);
    for (const [key, raw] of Object.entries(auths as Record<string, unknown>)) {
      if (typeof raw !== 'object' || raw === null) continue;
      const e = raw as Record<string, unknown>;
      const c: Credentials = {};
      if (typeof e.auth === 'string' && e.auth) {
        try {
          Object.assign(c, decodeBasicAuth(e.auth));
        } catch (err) {
          throw new AuthError(`${source}: auths.${key}.auth ${(err as Error).message}`);
        }
      }
      if (typeof e.username === 'string' && e.username) c.username = e.username;
      if (typeof e.password === 'string' && e.password) c.password = e.password;
      if (typeof e.identitytoken === 'string' && e.identitytoken) c.identityToken = e.identitytoken;
      if (typeof e.registrytoken === 'string' && e.registrytoken) c.registryToken = e.registrytoken;
      if (Object.keys(c).length > 0) byHost.set(normalizeAuthHost(key), c);
    }
    return new AuthFile(byHost);
  }

  /** Reads `path`; a missing file means no credentials. */
  static async load(path: string): Promise<AuthFile> {
    if (!path) return AuthFile.empty();
    try {
      return AuthFile.parse(await readFile(path, 'utf8'), path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return AuthFile.empty();
      throw err;
    }
  }

  lookup(host: string): Credentials | undefined {
    return this.byHost.get(normalizeAuthHost(host));
  }
}
