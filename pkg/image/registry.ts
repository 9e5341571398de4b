// A client for one repository on a registry (OCI distribution spec): its
// endpoints are tried in order (mirrors, then the registry itself), with the
// WWW-Authenticate flow (Bearer tokens, Basic), retries with backoff on
// connection errors and 5xx (never on 4xx), and plain-HTTP fallback for
// insecure registries.
import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger';
import { parseChallenges, type Challenge, type Credentials } from './auth';
import { realmTls, realmWithholdReason } from './credential_policy';
import type { Endpoint } from './endpoints';
import { Agents, discard, isTlsProtocolError, isTransientNetworkError, readBody, request, StallError, type Response } from './http';
import { MANIFEST_ACCEPT, MAX_METADATA_BYTES, type Descriptor } from './manifest';

export type RegistryErrorKind = 'not-found' | 'unauthorized' | 'denied' | 'unavailable' | 'stalled' | 'invalid';

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

const RETRIES = 3;
const BACKOFF_MS = 200;
const DEFAULT_TOKEN_TTL_S = 60;

interface CachedToken {
  token: string;
  expires: number;
}

/** Bearer tokens by realm, service, scope and identity; shared by every pull. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expires <= Date.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return t.token;
  }

  set(key: string, token: string, ttlSeconds: number): void {
    // Renew a little early so that a token does not expire in flight.
    this.tokens.set(key, { token, expires: Date.now() + Math.max(1, ttlSeconds - 10) * 1000 });
    if (this.tokens.size > 1000) this.tokens.delete(this.tokens.keys().next().value!);
  }
}

/** Hosts (host:port) of insecure registries found to speak plain HTTP only. */
/**
 * What pulls share: bearer tokens, keep-alive connections, and which
 * insecure registries turned out to speak plain HTTP. One per image manager.
 */
export class RegistrySession {
  readonly tokens = new TokenCache();
  readonly agents = new Agents();
  readonly plainHttpHosts = new Set<string>();

  close(): void {
    this.agents.destroy();
  }
}

export interface RepositoryClientOptions {
  session: RegistrySession;
  /** The credentials to offer an endpoint when it asks for them (credential_policy.ts decides). */
  credentials: (ep: Endpoint) => Credentials | undefined;
  idleTimeoutMs: number;
  signal: AbortSignal;
  log: Logger;
}

export interface FetchedManifest {
  bytes: Buffer;
  contentType: string | undefined;
  endpoint: Endpoint;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

export class RepositoryClient {
  /** Index of the endpoint that last answered; tried first next time. */
  private preferred = 0;
  /** Authorization header per endpoint (its base URL), once a challenge was answered. */
  private readonly authorization = new Map<string, string>();

  constructor(
    readonly endpoints: readonly Endpoint[],
    /** The repository path on the registry ("library/busybox"). */
    readonly path: string,
    private readonly opts: RepositoryClientOptions,
  ) {
    if (endpoints.length === 0) throw new RegistryError('unavailable', 'no endpoint to pull from (mirror_only with no mirrors)');
  }

  /** The same client (endpoints, answered challenges) bound to another abort signal. */
  withSignal(signal: AbortSignal): RepositoryClient {
    const c = new RepositoryClient(this.endpoints, this.path, { ...this.opts, signal });
    c.preferred = this.preferred;
    for (const [k, v] of this.authorization) c.authorization.set(k, v);
    return c;
  }

  /** Fetches a manifest or index by tag or digest. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const what = `manifest ${this.path}${reference.includes(':') ? '@' : ':'}${reference}`;
    return this.onEachEndpoint(what, async (ep) => {
      const res = await this.send(ep, `manifests/${reference}`, { accept: MANIFEST_ACCEPT }, what);
      const ct = res.headers['content-type'];
      const bytes = await readBody(res, MAX_METADATA_BYTES);
      return { bytes, contentType: Array.isArray(ct) ? ct[0] : ct, endpoint: ep };
    });
  }

  /** Opens a blob for streaming; the caller checks its size and digest. */
  async openBlob(desc: Descriptor): Promise<Response> {
    return this.onEachEndpoint(`blob ${desc.digest}`, (ep) => this.send(ep, `blobs/${desc.digest}`, {}, `blob ${desc.digest}`));
  }

  /** Runs `op` against each endpoint in turn until one succeeds. */
  private async onEachEndpoint<T>(what: string, op: (ep: Endpoint) => Promise<T>): Promise<T> {
    const order = [this.preferred, ...this.endpoints.keys()].filter((v, i, a) => a.indexOf(v) === i);
    const failures: { ep: Endpoint; err: unknown }[] = [];
    for (const i of order) {
      const ep = this.endpoints[i]!;
      if (this.opts.signal.aborted) throw this.opts.signal.reason;
      try {
        const out = await op(ep);
        this.preferred = i;
        return out;
      } catch (err) {
        if (this.opts.signal.aborted) throw this.opts.signal.reason;
        this.opts.log.debug({ endpoint: ep.base.href, err: describeError(err) }, `${what}: endpoint failed`);
        failures.push({ ep, err });
      }
    }
    throw summarize(what, failures);
  }

  private async send(ep: Endpoint, rel: string, opts: { accept?: string }, what: string): Promise<Response> {
    const url = new URL(`${this.path}/${rel}`, ep.base);
    const headers: Record<string, string> = {};
    if (opts.accept) headers.accept = opts.accept;
    const auth = this.authorization.get(ep.base.href);
    if (auth) headers.authorization = auth;
    let res = await this.requestRetrying(ep, url, headers);
    if (res.status === 401) {
      const challenges = parseChallenges(String(res.headers['www-authenticate'] ?? ''));
      discard(res);
      const answer = await this.answerChallenge(ep, challenges);
      if (answer === undefined) throw new RegistryError('unauthorized', `${ep.host} requires authentication for ${what} and no credentials are configured for it`);
      this.authorization.set(ep.base.href, answer.header);
      res = await this.requestRetrying(ep, url, { ...headers, authorization: answer.header });
      if (res.status === 401) {
        discard(res);
        const refused = answer.withheld ? `refused an anonymous token for ${what} (401 Unauthorized); credentials were withheld because ${answer.withheld}` : `refused the credentials for ${what} (401 Unauthorized)`;
        throw new RegistryError('unauthorized', `${ep.host} ${refused}`);
      }
    }
    if (res.status >= 200 && res.status < 300) return res;
    const detail = (await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8').trim().slice(0, 300);
    const suffix = detail ? `: ${detail}` : '';
    if (res.status === 403) throw new RegistryError('denied', `${ep.host} denied access to ${what} (403 Forbidden)${suffix}`);
    if (res.status === 404) throw new RegistryError('not-found', `${what} not found on ${ep.host} (404)`);
    if (res.status >= 500) throw new RegistryError('unavailable', `${ep.host} failed ${what} with ${res.status}${suffix}`);
    throw new RegistryError('invalid', `${ep.host} answered ${what} with ${res.status}${suffix}`);
  }

  /** GET with retries on connection errors and 5xx, and plain-HTTP fallback for insecure registries. */
  private async requestRetrying(ep: Endpoint, url: URL, headers: Record<string, string>): Promise<Response> {
    let target = url;
    if (ep.httpFallback && this.opts.session.plainHttpHosts.has(ep.host)) target = withProtocol(url, 'http:');
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await request(target, { agents: this.opts.session.agents, headers, tls: ep.tls, idleTimeoutMs: this.opts.idleTimeoutMs, signal: this.opts.signal });
        if (res.status >= 500 && attempt < RETRIES) {
          discard(res);
          this.opts.log.debug({ url: target.href, status: res.status, attempt }, 'registry error; retrying');
          await sleep(BACKOFF_MS * 4 ** (attempt - 1), this.opts.signal);
          continue;
        }
        return res;
      } catch (err) {
        if (this.opts.signal.aborted) throw this.opts.signal.reason;
        if (err instanceof StallError) throw new RegistryError('stalled', err.message, { cause: err });
        if (ep.httpFallback && target.protocol === 'https:' && isTlsProtocolError(err)) {
          this.opts.session.plainHttpHosts.add(ep.host);
          target = withProtocol(url, 'http:');
          attempt--;
          continue;
        }
        if (isTransientNetworkError(err) && attempt < RETRIES) {
          this.opts.log.debug({ url: target.href, err: describeError(err), attempt }, 'connection failed; retrying');
          await sleep(BACKOFF_MS * 4 ** (attempt - 1), this.opts.signal);
          continue;
        }
        throw new RegistryError('unavailable', `${target.origin}: ${describeError(err)}`, { cause: err });
      }
    }
  }

  /**
   * The Authorization header that answers a 401's challenges, or undefined
   * when there is nothing to offer; `withheld` says why configured credentials
   * were not sent to the token realm.
   */
  private async answerChallenge(ep: Endpoint, challenges: Challenge[]): Promise<{ header: string; withheld?: string } | undefined> {
    const creds = this.opts.credentials(ep);
    const overHttp = ep.base.protocol === 'http:' || (ep.httpFallback && this.opts.session.plainHttpHosts.has(ep.host));
    const cleartext = creds && overHttp && !ep.plainHttp ? `${ep.host} is reached over plain HTTP and is not configured insecure (image.registries."${ep.host}".insecure)` : undefined;
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      if (cleartext) {
        this.opts.log.warn({ endpoint: ep.base.href }, `credentials withheld: ${cleartext}; asking for an anonymous token`);
        const got = await this.fetchToken(ep, bearer, undefined);
        return { header: `Bearer ${got.token}`, withheld: cleartext };
      }
      if (creds?.registryToken) return { header: `Bearer ${creds.registryToken}` };
      const got = await this.fetchToken(ep, bearer, creds);
      return { header: `Bearer ${got.token}`, ...(got.withheld ? { withheld: got.withheld } : {}) };
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic) {
      if (cleartext) throw new RegistryError('unauthorized', `${ep.host} asks for credentials, which are not sent because ${cleartext}`);
      if (!creds?.username) return undefined;
      return { header: `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}` };
    }
    throw new RegistryError('unauthorized', `${ep.host} asked for authentication with an unsupported scheme (${challenges.map((c) => c.scheme).join(', ') || 'no WWW-Authenticate header'})`);
  }

  private async fetchToken(ep: Endpoint, challenge: Challenge, offered: Credentials | undefined): Promise<{ token: string; withheld?: string }> {
    const { realm, service } = challenge.params;
    if (!realm) throw new RegistryError('unauthorized', `${ep.host} sent a Bearer challenge without a realm`);
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new RegistryError('unauthorized', `${ep.host} sent a Bearer challenge with an invalid realm ${JSON.stringify(realm)}`);
    }
    if (realmUrl.protocol !== 'https:' && realmUrl.protocol !== 'http:') {
      throw new RegistryError('unauthorized', `${ep.host} sent a Bearer challenge with a realm that is not an http(s) URL: ${JSON.stringify(realm)}`);
    }
    const withheld = offered ? realmWithholdReason(realmUrl, ep) : undefined;
    if (withheld) this.opts.log.warn({ endpoint: ep.base.href, realm: realmUrl.origin }, `credentials withheld from a token realm: ${withheld}; asking for an anonymous token`);
    const scope = challenge.params.scope || `repository:${this.path}:pull`;
    if (!withheld) return { token: await this.requestToken(ep, realmUrl, service, scope, offered) };
    try {
      return { token: await this.requestToken(ep, realmUrl, service, scope, undefined), withheld };
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'unauthorized') err.message += `; credentials were withheld because ${withheld}`;
      throw err;
    }
  }

  private async requestToken(ep: Endpoint, realmUrl: URL, service: string | undefined, scope: string, creds: Credentials | undefined): Promise<string> {
    const identity = creds?.identityToken ? `it:${hash(creds.identityToken)}` : creds?.username ? `u:${creds.username}:${hash(creds.password ?? '')}` : 'anon';
    const key = `${realmUrl.href}|${service ?? ''}|${scope}|${identity}`;
    const cached = this.opts.session.tokens.get(key);
    if (cached) return cached;

    const headers: Record<string, string> = { accept: 'application/json' };
    let res: Response;
    const common = { agents: this.opts.session.agents, tls: realmTls(realmUrl, ep), idleTimeoutMs: this.opts.idleTimeoutMs, signal: this.opts.signal };
    try {
      if (creds?.identityToken) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'krill', scope });
        if (service) form.set('service', service);
        res = await request(realmUrl, { ...common, method: 'POST', body: form.toString(), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } });
      } else {
        const u = new URL(realmUrl);
        if (service) u.searchParams.set('service', service);
        u.searchParams.set('scope', scope);
        if (creds?.username) {
          u.searchParams.set('account', creds.username);
          headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
        }
        res = await request(u, { ...common, headers });
      }
    } catch (err) {
      if (this.opts.signal.aborted) throw this.opts.signal.reason;
      throw new RegistryError('unavailable', `token server ${realmUrl.origin}: ${describeError(err)}`, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      discard(res);
      throw new RegistryError('unauthorized', `token server ${realmUrl.origin} refused ${creds ? 'the credentials' : 'anonymous access'} for ${scope} (${res.status})`);
    }
    if (res.status < 200 || res.status >= 300) {
      discard(res);
      throw new RegistryError(res.status >= 500 ? 'unavailable' : 'unauthorized', `token server ${realmUrl.origin} answered ${res.status}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8')) as typeof body;
    } catch (err) {
      throw new RegistryError('unauthorized', `token server ${realmUrl.origin} sent an unreadable answer: ${describeError(err)}`);
    }
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw new RegistryError('unauthorized', `token server ${realmUrl.origin} sent no token`);
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_TTL_S;
    this.opts.session.tokens.set(key, token, ttl);
    return token;
  }
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

function withProtocol(url: URL, protocol: 'http:' | 'https:'): URL {
  const u = new URL(url);
  u.protocol = protocol;
  return u;
}

/** One error for a request that failed on every endpoint: the most telling kind, every endpoint's reason. */
function summarize(what: string, failures: { ep: Endpoint; err: unknown }[]): RegistryError {
  if (failures.length === 1 && failures[0]!.err instanceof RegistryError) return failures[0]!.err;
  const kinds = failures.map((f) => (f.err instanceof RegistryError ? f.err.kind : 'unavailable'));
  const kind: RegistryErrorKind = kinds.includes('unauthorized')
    ? 'unauthorized'
    : kinds.includes('denied')
      ? 'denied'
      : kinds.every((k) => k === 'not-found')
        ? 'not-found'
        : kinds.includes('stalled')
          ? 'stalled'
          : kinds.includes('invalid')
            ? 'invalid'
            : kinds.includes('not-found')
              ? 'not-found'
              : 'unavailable';
  const reasons = failures.map((f) => `${f.ep.mirror ? 'mirror ' : ''}${f.ep.base.origin}: ${describeError(f.err)}`).join('; ');
  return new RegistryError(kind, `${what} could not be fetched from any endpoint (${reasons})`);
}
