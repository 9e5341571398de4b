import { AuthFile, credentialsFromCri, decodeBasicAuth, normalizeAuthHost, parseChallenges } from './auth';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('a Bearer challenge with quoted parameters', () => {
  expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual([
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
  ]);
});

test('several challenges, unquoted values, escapes and odd spacing', () => {
  expect(parseChallenges('Basic realm="Registry \\"x\\"", Bearer realm=https://t/x , service=s')).toEqual([
    { scheme: 'basic', params: { realm: 'Registry "x"' } },
    { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } },
  ]);
  expect(parseChallenges('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
  expect(parseChallenges('')).toEqual([]);
});

test('basic auth strings', () => {
  expect(decodeBasicAuth(b64('bob:pa:ss'))).toEqual({ username: 'bob', password: 'pa:ss' });
  expect(() => decodeBasicAuth(b64('nocolon'))).toThrow('username:password');
  expect(() => decodeBasicAuth('!!!')).toThrow();
});

test('CRI AuthConfig', () => {
  const base = { username: '', password: '', auth: '', serverAddress: '', identityToken: '', registryToken: '' };
  expect(credentialsFromCri(base)).toBeUndefined();
  expect(credentialsFromCri(undefined)).toBeUndefined();
  expect(credentialsFromCri({ ...base, username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p' });
  expect(credentialsFromCri({ ...base, auth: b64('u:p') })).toEqual({ username: 'u', password: 'p' });
  expect(credentialsFromCri({ ...base, registryToken: 't' })).toEqual({ registryToken: 't' });
});

test('auth file hosts are normalized', () => {
  expect(normalizeAuthHost('https://index.docker.io/v1/')).toBe('docker.io');
  expect(normalizeAuthHost('http://127.0.0.1:5000')).toBe('127.0.0.1:5000');
  const f = AuthFile.parse(
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('d:p') },
        'quay.io': { username: 'q', password: 'w' },
        'ghcr.io': { identitytoken: 'refresh' },
        'empty.io': {},
      },
    }),
    'config.json',
  );
  expect(f.lookup('docker.io')).toEqual({ username: 'd', password: 'p' });
  expect(f.lookup('registry-1.docker.io')).toEqual({ username: 'd', password: 'p' });
  expect(f.lookup('quay.io')).toEqual({ username: 'q', password: 'w' });
  expect(f.lookup('ghcr.io')).toEqual({ identityToken: 'refresh' });
  expect(f.lookup('empty.io')).toBeUndefined();
  expect(() => AuthFile.parse('{', 'x.json')).toThrow('x.json is not valid JSON');
  expect(() => AuthFile.parse(JSON.stringify({ auths: { h: { auth: b64('x') } } }), 'x.json')).toThrow('x.json: auths.h.auth');
});

test('CRI server_address is kept with the credentials it scopes', () => {
  const base = { username: '', password: '', auth: '', serverAddress: '', identityToken: '', registryToken: '' };
  expect(credentialsFromCri({ ...base, username: 'u', password: 'p', serverAddress: 'https://r.example/v1/' })).toEqual({ username: 'u', password: 'p', serverAddress: 'https://r.example/v1/' });
  // A server address alone carries no credentials.
  expect(credentialsFromCri({ ...base, serverAddress: 'r.example' })).toBeUndefined();
});
