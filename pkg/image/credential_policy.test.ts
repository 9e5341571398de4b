import type { RegistryConfig } from '../config/config';
import { AuthFile, type Credentials } from './auth';
import { credentialsForEndpoint, criCredentialsHost, realmTls, realmWithholdReason, type CredentialSources } from './credential_policy';
import { endpointsFor, type Endpoint } from './endpoints';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const reg = (over: Partial<RegistryConfig>): RegistryConfig => ({ mirrors: [], mirror_only: false, insecure: false, ca_file: '', share_credentials_with_mirrors: false, ...over });

const authFile = AuthFile.parse(
  JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hub:hubpw') },
      'r.example': { auth: b64('reg:regpw') },
      'http://mirror.example:5000': { auth: b64('mir:mirpw') },
    },
  }),
  'config.json',
);
const CRI: Credentials = { username: 'cri', password: 'cripw' };

/** Who gets what: endpoint host → the username offered there (or undefined). */
function offers(domain: string, registries: Record<string, RegistryConfig>, cri: Credentials | undefined, file = authFile): Record<string, string | undefined> {
  const s: CredentialSources = { domain, cri, authFile: file };
  const out: Record<string, string | undefined> = {};
  for (const ep of endpointsFor(domain, registries)) out[ep.host] = credentialsForEndpoint(ep, s)?.username;
  return out;
}

describe('CRI credentials and server_address', () => {
  test('with no server_address they belong to the image registry', () => {
    expect(offers('r.example', {}, CRI)).toEqual({ 'r.example': 'cri' });
    expect(offers('docker.io', {}, CRI)).toEqual({ 'registry-1.docker.io': 'cri' });
  });

  test.each([
    ['r.example', 'cri'],
    ['https://r.example', 'cri'],
    ['https://r.example/v2/', 'cri'],
    ['R.EXAMPLE', 'cri'],
    // Another registry: ignored here, the auth file applies.
    ['other.example', 'reg'],
    ['https://other.example/r.example', 'reg'],
    ['r.example:5000', 'reg'],
  ])('server_address %s for r.example gives %s', (serverAddress, who) => {
    expect(offers('r.example', {}, { ...CRI, serverAddress })).toEqual({ 'r.example': who });
  });

  test.each(['https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io', 'docker.io'])('Docker Hub aliases: %s', (serverAddress) => {
    expect(offers('docker.io', {}, { ...CRI, serverAddress })).toEqual({ 'registry-1.docker.io': 'cri' });
  });

  test('a mismatched server_address with nothing in the auth file gives nothing', () => {
    expect(offers('q.example', {}, { ...CRI, serverAddress: 'r.example' })).toEqual({ 'q.example': undefined });
    expect(criCredentialsHost({ ...CRI, serverAddress: 'https://Index.Docker.io/v1/' }, 'x')).toBe('docker.io');
    expect(criCredentialsHost(CRI, 'registry-1.docker.io')).toBe('docker.io');
  });
});

describe('mirrors', () => {
  const mirrors = ['http://mirror.example:5000', 'https://other-mirror.example'];

  test('a mirror gets only the auth-file entry of its own host by default', () => {
    expect(offers('r.example', { 'r.example': reg({ mirrors }) }, CRI)).toEqual({
      'mirror.example:5000': 'mir',
      'other-mirror.example': undefined,
      'r.example': 'cri',
    });
    expect(offers('r.example', { 'r.example': reg({ mirrors }) }, undefined)).toEqual({
      'mirror.example:5000': 'mir',
      'other-mirror.example': undefined,
      'r.example': 'reg',
    });
  });

  test('share_credentials_with_mirrors offers the registry credentials to mirrors without their own', () => {
    const regs = { 'r.example': reg({ mirrors, share_credentials_with_mirrors: true }) };
    expect(offers('r.example', regs, CRI)).toEqual({ 'mirror.example:5000': 'mir', 'other-mirror.example': 'cri', 'r.example': 'cri' });
    expect(offers('r.example', regs, undefined)).toEqual({ 'mirror.example:5000': 'mir', 'other-mirror.example': 'reg', 'r.example': 'reg' });
    // CRI credentials for another registry are not the registry's to share.
    expect(offers('r.example', regs, { ...CRI, serverAddress: 'x.example' })).toEqual({ 'mirror.example:5000': 'mir', 'other-mirror.example': 'reg', 'r.example': 'reg' });
  });

  test('CRI credentials whose server_address names a mirror go to that mirror only', () => {
    expect(offers('r.example', { 'r.example': reg({ mirrors }) }, { ...CRI, serverAddress: 'https://other-mirror.example' })).toEqual({
      'mirror.example:5000': 'mir',
      'other-mirror.example': 'cri',
      'r.example': 'reg',
    });
  });
});

describe('token realms', () => {
  const ep = (base: string, over: Partial<Endpoint> = {}): Endpoint => {
    const u = new URL(base);
    return { base: u, host: u.host, mirror: false, tls: {}, httpFallback: false, plainHttp: u.protocol === 'http:', registryCredentials: true, ...over };
  };

  test('HTTPS realms get credentials, on any host', () => {
    expect(realmWithholdReason(new URL('https://auth.docker.io/token'), ep('https://registry-1.docker.io/v2/'))).toBeUndefined();
    expect(realmWithholdReason(new URL('https://r.example/token'), ep('http://r.example/v2/'))).toBeUndefined();
  });

  test('a plain-HTTP realm on another host never gets them', () => {
    expect(realmWithholdReason(new URL('http://evil.example/token'), ep('http://r.example:5000/v2/'))).toBe(
      'the token realm http://evil.example is plain HTTP on another host than r.example:5000',
    );
    expect(realmWithholdReason(new URL('http://127.0.0.2:9000/token'), ep('http://127.0.0.1:5000/v2/'))).toMatch('another host');
  });

  test('a plain-HTTP realm on the same host gets them only where the endpoint may speak plain HTTP', () => {
    expect(realmWithholdReason(new URL('http://127.0.0.1:9000/token'), ep('http://127.0.0.1:5000/v2/'))).toBeUndefined();
    expect(realmWithholdReason(new URL('http://r.example/token'), ep('https://r.example/v2/', { plainHttp: false }))).toBe(
      'the token realm http://r.example is plain HTTP and r.example is not configured for plain HTTP',
    );
    expect(realmWithholdReason(new URL('http://r.example/token'), ep('https://r.example/v2/', { plainHttp: true, httpFallback: true }))).toBeUndefined();
  });

  test('an insecure registry does not make a realm on another host unverified', () => {
    const insecure = ep('https://r.example/v2/', { tls: { skipVerify: true, ca: 'PEM' } });
    expect(realmTls(new URL('https://r.example:8443/token'), insecure)).toEqual({ skipVerify: true, ca: 'PEM' });
    expect(realmTls(new URL('https://auth.example/token'), insecure)).toEqual({ ca: 'PEM' });
    expect(realmTls(new URL('https://auth.example/token'), ep('https://r.example/v2/', { tls: { skipVerify: true } }))).toEqual({});
  });
});
