// HTTP(S) requests to registries on Node's own stack: keep-alive agents per
// TLS setting, redirects (credentials dropped when the origin changes, as for
// blobs served from object storage), an abort signal, and a no-progress timeout
// that fires when the socket is idle that long (not a cap on total time).
import * as http from 'node:http';
import * as https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';

const MAX_REDIRECTS = 10;

export interface TlsSettings {
  /** Extra trusted CA certificates (PEM). */
  ca?: string;
  /** Accept any certificate (insecure registries). */
  skipVerify?: boolean;
}

export interface RequestOptions {
  /** The keep-alive agents to use (one set per image manager). */
  agents: Agents;
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  tls?: TlsSettings;
  /** Milliseconds without any byte on the socket before the request fails. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Whether to follow redirects (default true). */
  followRedirects?: boolean;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: URL;
  body: Readable;
}

/** The socket saw no byte for the configured time. */
export class StallError extends Error {
  constructor(
    readonly url: string,
    readonly ms: number,
  ) {
    super(`no data from ${url} for ${ms / 1000}s`);
    this.name = 'StallError';
  }
}

/** Keep-alive agents, one per TLS setting, so that pulls from one registry reuse connections. */
export class Agents {
  private readonly byKey = new Map<string, http.Agent>();

  for(url: URL, tls: TlsSettings | undefined): http.Agent {
    const key = url.protocol === 'https:' ? `https|${tls?.skipVerify ? 1 : 0}|${tls?.ca ?? ''}` : 'http';
    let agent = this.byKey.get(key);
    if (!agent) {
      agent =
        url.protocol === 'https:'
          ? new https.Agent({
              keepAlive: true,
              maxSockets: 32,
              rejectUnauthorized: !tls?.skipVerify,
              ...(tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
            })
          : new http.Agent({ keepAlive: true, maxSockets: 32 });
      this.byKey.set(key, agent);
    }
    return agent;
  }

  /** Closes every idle connection (krilld stopping). */
  destroy(): void {
    for (const a of this.byKey.values()) a.destroy();
    this.byKey.clear();
  }
}

/** Drains and discards a response body (so its socket can be reused). */
export function discard(res: Response): void {
  res.body.resume();
  res.body.on('error', () => undefined);
}

/** Reads a whole (small) body; fails beyond `limit` bytes. */
export async function readBody(res: Response, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.body.destroy();
      throw new Error(`response from ${res.url.href} is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function once(url: URL, opts: RequestOptions): Promise<Response> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'krill', ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = mod.request(url, { method: opts.method ?? 'GET', headers, agent: opts.agents.for(url, opts.tls) });
    const onAbort = (): void => {
      req.destroy(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('request aborted'));
    };
    if (opts.signal?.aborted) {
      onAbort();
    } else {
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    }
    req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new StallError(url.href, opts.idleTimeoutMs)));
    req.on('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    req.on('response', (res) => {
      res.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
      // Errors of the request after the response started reach the body stream.
      req.on('error', (err) => res.destroy(err));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
    });
    req.end(opts.body);
  });
}

/** What follows a redirect: method, headers and body of the next request. */
export interface Hop {
  method: NonNullable<RequestOptions['method']>;
  headers: Record<string, string>;
  body?: string;
}

const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/**
 * The request that follows a redirect from `from` to `to`. Credentials stay
 * only on the same origin (scheme, host and port): a blob redirected to
 * object storage, or an https URL redirected to http, loses them. A POST
 * becomes a GET on 301/302/303, as browsers and Go do; a 307/308 would resend
 * its body, which is a credential too (a refresh token), so across origins it
 * is refused.
 */
export function redirectHop(from: URL, to: URL, status: number, hop: Hop): Hop {
  const next: Hop = { method: hop.method, headers: { ...hop.headers } };
  if (hop.body !== undefined) next.body = hop.body;
  if (status === 303 || ((status === 301 || status === 302) && hop.method === 'POST')) {
    next.method = next.method === 'HEAD' ? 'HEAD' : 'GET';
    delete next.body;
    delete next.headers['content-type'];
  }
  if (from.origin === to.origin) return next;
  for (const h of CREDENTIAL_HEADERS) delete next.headers[h];
  if (next.body !== undefined) throw new Error(`${from.origin} redirected a ${next.method} with a body to ${to.origin}; not followed (the body may carry credentials)`);
  return next;
}

/** One request, following redirects. Any status is returned; only transport failures throw. */
export async function request(url: URL, opts: RequestOptions): Promise<Response> {
  let current = url;
  let hop: Hop = { method: opts.method ?? 'GET', headers: { ...opts.headers } };
  if (opts.body !== undefined) hop.body = opts.body;
  for (let n = 0; ; n++) {
    const { body: _body, ...rest } = opts;
    const res = await once(current, { ...rest, method: hop.method, headers: hop.headers, ...(hop.body !== undefined ? { body: hop.body } : {}) });
    const location = res.headers.location;
    if (opts.followRedirects === false || ![301, 302, 303, 307, 308].includes(res.status) || !location) return res;
    discard(res);
    if (n >= MAX_REDIRECTS) throw new Error(`too many redirects from ${url.href}`);
    const next = new URL(location, current);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new Error(`${current.origin} redirected to a URL that is not http(s): ${next.href}`);
    hop = redirectHop(current, next, res.status, hop);
    current = next;
  }
}

const TRANSIENT_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A connection-level failure that a retry may cure (not a stall, not a cancellation). */
export function isTransientNetworkError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof StallError || err.name === 'AbortError') return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  return /socket hang up|^aborted$/.test(err.message);
}

/** A TLS handshake against a plain-HTTP server ("wrong version number"). */
export function isTlsProtocolError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  return code === 'EPROTO' || code.startsWith('ERR_SSL_') || /wrong version number|packet length too long/i.test(String((err as Error)?.message));
}
