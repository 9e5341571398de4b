// Which credentials an endpoint may be offered, and where a token realm may
// receive them. Pure decisions; registry.ts applies them.
//
// - Credentials belong to a host. CRI credentials belong to their
//   server_address when it is set (compared as containerd's ParseAuth does),
//   else to the image's registry; an auth-file entry belongs to its key.
// - An endpoint gets the credentials of its own host. A mirror gets the
//   registry's credentials too only with share_credentials_with_mirrors.
// - A token realm gets them over HTTPS (any host: Docker Hub's realm is
//   auth.docker.io), or over plain HTTP only on the host of an endpoint that
//   the config lets speak plain HTTP. Anywhere else the token is fetched
//   anonymously, as if no credentials were configured.
import { normalizeAuthHost, type AuthFile, type Credentials } from './auth';
import type { Endpoint } from './endpoints';
import type { TlsSettings } from './http';

export interface CredentialSources {
  /** The image's registry as its reference names it ("docker.io"). */
  domain: string;
  /** From the PullImage request, if it carried any. */
  cri: Credentials | undefined;
  authFile: AuthFile;
}

/** The host CRI credentials belong to (normalized). */
export function criCredentialsHost(cri: Credentials, domain: string): string {
  return normalizeAuthHost(cri.serverAddress ? cri.serverAddress : domain);
}

/** The credentials to offer `ep` when it asks for authentication; undefined: none. */
export function credentialsForEndpoint(ep: Endpoint, s: CredentialSources): Credentials | undefined {
  const host = normalizeAuthHost(ep.host);
  const registry = normalizeAuthHost(s.domain);
  const criHost = s.cri ? criCredentialsHost(s.cri, s.domain) : undefined;
  if (s.cri && criHost === host) return s.cri;
  const own = s.authFile.lookup(host);
  if (own) return own;
  if (host === registry || !ep.registryCredentials) return undefined;
  if (s.cri && criHost === registry) return s.cri;
  return s.authFile.lookup(registry);
}

/**
 * Why credentials must not go to the token realm `realm` that endpoint `ep`
 * named; undefined when they may.
 */
export function realmWithholdReason(realm: URL, ep: Endpoint): string | undefined {
  if (realm.protocol === 'https:') return undefined;
  if (realm.hostname !== ep.base.hostname) return `the token realm ${realm.origin} is plain HTTP on another host than ${ep.host}`;
  if (!ep.plainHttp) return `the token realm ${realm.origin} is plain HTTP and ${ep.host} is not configured for plain HTTP`;
  return undefined;
}

/**
 * TLS for a request to a token realm: the endpoint's settings on its own
 * host; elsewhere its CA file but always verified (an insecure registry does
 * not make a realm on another host insecure).
 */
export function realmTls(realm: URL, ep: Endpoint): TlsSettings {
  if (realm.hostname === ep.base.hostname) return ep.tls;
  return ep.tls.ca ? { ca: ep.tls.ca } : {};
}
