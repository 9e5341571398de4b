import type { RegistryConfig } from '../config/config';
import { endpointsFor, mirrorBase } from './endpoints';

const reg = (over: Partial<RegistryConfig>): RegistryConfig => ({
  mirrors: [],
  mirror_only: false,
  insecure: false,
  ca_file: '',
  share_credentials_with_mirrors: false,
  ...over,
});

test('mirror URLs get /v2/', () => {
  expect(mirrorBase('http://127.0.0.1:5000').href).toBe('http://127.0.0.1:5000/v2/');
  expect(mirrorBase('https://m.example/').href).toBe('https://m.example/v2/');
  expect(mirrorBase('https://m.example/cache').href).toBe('https://m.example/cache/v2/');
  expect(mirrorBase('https://m.example/cache/v2').href).toBe('https://m.example/cache/v2/');
});

test('docker.io goes to registry-1.docker.io over verified HTTPS', () => {
  expect(endpointsFor('docker.io', {})).toEqual([
    { base: new URL('https://registry-1.docker.io/v2/'), host: 'registry-1.docker.io', mirror: false, tls: {}, httpFallback: false, plainHttp: false, registryCredentials: true },
  ]);
});

test('mirrors first, in order, then the registry unless mirror-only', () => {
  const regs = { 'registry.k8s.io': reg({ mirrors: ['http://127.0.0.1:1', 'http://127.0.0.1:5000'] }) };
  expect(endpointsFor('registry.k8s.io', regs).map((e) => [e.base.href, e.mirror])).toEqual([
    ['http://127.0.0.1:1/v2/', true],
    ['http://127.0.0.1:5000/v2/', true],
    ['https://registry.k8s.io/v2/', false],
  ]);
  regs['registry.k8s.io'].mirror_only = true;
  expect(endpointsFor('registry.k8s.io', regs)).toHaveLength(2);
  expect(endpointsFor('registry.k8s.io', { 'registry.k8s.io': reg({ mirror_only: true }) })).toEqual([]);
});

test('insecure and loopback registries may fall back to plain HTTP; CA files apply to all', () => {
  const [e] = endpointsFor('my.reg:5000', { 'my.reg:5000': reg({ insecure: true }) }, 'PEM');
  expect(e).toMatchObject({ httpFallback: true, tls: { skipVerify: true, ca: 'PEM' } });
  expect(endpointsFor('127.0.0.1:5055', {})[0]).toMatchObject({ httpFallback: true });
  expect(endpointsFor('localhost:5000', {})[0]).toMatchObject({ httpFallback: true });
  expect(endpointsFor('quay.io', {})[0]).toMatchObject({ httpFallback: false, tls: {} });
});

test('plain HTTP only where the config says so; mirrors get the registry credentials only when shared', () => {
  const regs = { 'r.example': reg({ mirrors: ['http://m1:5000', 'https://m2'] }) };
  expect(endpointsFor('r.example', regs).map((e) => [e.host, e.plainHttp, e.registryCredentials])).toEqual([
    ['m1:5000', true, false],
    ['m2', false, false],
    ['r.example', false, true],
  ]);
  regs['r.example'].share_credentials_with_mirrors = true;
  regs['r.example'].insecure = true;
  expect(endpointsFor('r.example', regs).map((e) => [e.host, e.plainHttp, e.registryCredentials])).toEqual([
    ['m1:5000', true, true],
    ['m2', false, true],
    ['r.example', true, true],
  ]);
  // Credentials over plain HTTP (plainHttp) only where the config says so: an http:// mirror, or insecure = true.
  // A loopback registry falls back to plain HTTP untold, without them.
  expect(endpointsFor('127.0.0.1:5055', { '127.0.0.1:5055': reg({ mirrors: ['http://a', 'https://b'] }) }).map((e) => [e.host, e.httpFallback, e.plainHttp])).toEqual([
    ['a', false, true],
    ['b', false, false],
    ['127.0.0.1:5055', true, false],
  ]);
  expect(endpointsFor('127.0.0.1:5055', { '127.0.0.1:5055': reg({ insecure: true }) }).map((e) => [e.host, e.httpFallback, e.plainHttp])).toEqual([['127.0.0.1:5055', true, true]]);
});
