// Where a registry's content can be fetched from: its mirrors (in the order
// krill.toml lists them) and then the registry itself unless it is
// mirror-only. docker.io's API lives at registry-1.docker.io.
import type { RegistryConfig } from '../config/config';
import type { TlsSettings } from './http';

export interface Endpoint {
  /** The v2 API root, ending in "/": "https://registry-1.docker.io/v2/". */
  base: URL;
  /** host[:port] of the endpoint, for credentials lookup and logs. */
  host: string;
  mirror: boolean;
  tls: TlsSettings;
  /** Retry over plain HTTP when HTTPS fails at the handshake (insecure registries). */
  httpFallback: boolean;
  /**
   * The config says plain HTTP explicitly for this endpoint (insecure = true,
   * or a mirror written http://): only then may credentials, or tokens got
   * with them, travel to it unencrypted. A loopback registry falls back to
   * plain HTTP without being told (as Docker's do), but not with credentials.
   */
  plainHttp: boolean;
  /** The registry's own credentials may be offered here: the registry itself, or a mirror with share_credentials_with_mirrors. */
  registryCredentials: boolean;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

export function upstreamHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** The v2 root of a mirror URL: no path means /v2/; a path gets /v2/ appended unless it ends in /v2. */
export function mirrorBase(mirror: string): URL {
  const u = new URL(mirror);
  let path = u.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v2')) path += '/v2';
  u.pathname = `${path}/`;
  u.search = '';
  u.hash = '';
  return u;
}

/**
 * The endpoints for `domain`, in the order they are tried. `ca` is the
 * content of the registry's ca_file (already read), if any.
 */
export function endpointsFor(domain: string, registries: Record<string, RegistryConfig>, ca?: string): Endpoint[] {
  const cfg = registries[domain];
  const out: Endpoint[] = [];
  const baseTls: TlsSettings = ca ? { ca } : {};
  for (const m of cfg?.mirrors ?? []) {
    const base = mirrorBase(m);
    out.push({
      base,
      host: base.host,
      mirror: true,
      tls: baseTls,
      httpFallback: false,
      plainHttp: base.protocol === 'http:',
      registryCredentials: cfg?.share_credentials_with_mirrors ?? false,
    });
  }
  if (!cfg?.mirror_only) {
    const host = upstreamHost(domain);
    // Docker treats loopback registries as insecure without being told.
    const explicit = cfg?.insecure ?? false;
    const insecure = explicit || LOOPBACK.test(host);
    out.push({
      base: new URL(`https://${host}/v2/`),
      host,
      mirror: false,
      tls: insecure ? { ...baseTls, skipVerify: true } : baseTls,
      httpFallback: insecure,
      plainHttp: explicit,
      registryCredentials: true,
    });
  }
  return out;
}
