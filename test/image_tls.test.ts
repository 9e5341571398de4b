// HTTPS registries: a mirror whose certificate only a configured CA file
// vouches for, an insecure (unverified) registry, and blobs redirected to
// another host, which must not see the registry's credentials.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { grpc } from '../pkg/criclient/client';
import { buildTar } from '../pkg/storage/tar_build';
import { testBaseDir } from './harness/paths';
import { closedPort, FakeRegistry, insecureRegistries, pullReq, startImageKrilld, testImages } from './image_helpers';

const images = testImages();
const SOURCE = images.httpd!;
let dir: string;
let registry: ChildProcess | undefined;
let addr = '';

const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

beforeAll(async () => {
  dir = mkdtempSync(join(testBaseDir(), 'tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=krill-test-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
  const port = await closedPort();
  addr = `127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: ${addr}\n  tls:\n    certificate: ${join(dir, 'server.pem')}\n    key: ${join(dir, 'server.key')}\n`,
  );
  const log = openSync(join(dir, 'registry.log'), 'a');
  registry = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
  closeSync(log);
  const ca = readFileSync(join(dir, 'ca.pem'));
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => https.get(`https://${addr}/v2/`, { ca }, (r) => resolve(r.resume() !== undefined)).on('error', () => resolve(false)));
    if (up) break;
    if (i > 100) throw new Error(`the TLS registry did not start: ${readFileSync(join(dir, 'registry.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // skopeo takes the CA as <dir>/*.crt (and any *.key there as a client key).
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'ca.crt'), ca);
  const child = spawn('skopeo', ['copy', '-q', '--src-tls-verify=false', `--dest-cert-dir=${join(dir, 'certs')}`, `docker://${SOURCE.reference}`, `docker://${addr}/private/httpd:v1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`skopeo push over TLS failed: ${err}`);
});

afterAll(async () => {
  if (registry && registry.exitCode === null) {
    registry.kill('SIGTERM');
    await new Promise((r) => registry!.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

const mirrorConfig = (ca: string): string => `[image.registries."tls.example"]\nmirrors = ["https://${addr}"]\nmirror_only = true\n${ca ? `ca_file = "${ca}"\n` : ''}`;

test('an HTTPS mirror whose CA is not trusted is refused with the certificate error', async () => {
  const k = await startImageKrilld(mirrorConfig(''));
  try {
    await expect(k.client.image.pullImage(pullReq('tls.example/private/httpd:v1'))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: expect.stringMatching(/certificate|self.signed|unable to (get|verify)/i),
    });
  } finally {
    await k.cleanup();
  }
});

test('with ca_file the mirror is verified and the pull succeeds', async () => {
  const k = await startImageKrilld(mirrorConfig(join(dir, 'ca.pem')));
  try {
    await expect(k.client.image.pullImage(pullReq('tls.example/private/httpd:v1'))).resolves.toEqual({ imageRef: SOURCE.configDigest });
  } finally {
    await k.cleanup();
  }
});

test('an insecure registry is reached over HTTPS without verification', async () => {
  const k = await startImageKrilld(`[image.registries."${addr}"]\ninsecure = true\n`);
  try {
    await expect(k.client.image.pullImage(pullReq(`${addr}/private/httpd:v1`))).resolves.toEqual({ imageRef: SOURCE.configDigest });
  } finally {
    await k.cleanup();
  }
});

test('blobs redirected to another host are fetched there without the registry credentials', async () => {
  const reg = new FakeRegistry();
  await reg.start();
  const seen: { path: string; authorization: string | undefined }[] = [];
  const store = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const data = reg.blobs.get((req.url ?? '').slice(1));
    if (!data) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
  await new Promise<void>((r) => store.listen(0, '127.0.0.1', r));
  const img = reg.addImage('redirect/app', 'v1', [buildTar([{ name: 'hello', data: 'world' }])]);
  const k = await startImageKrilld(insecureRegistries(img.reference.split('/')[0]!));
  try {
    reg.basicAuth = 'u:p';
    reg.blobRedirect = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
    await expect(k.client.image.pullImage(pullReq(img.reference, { username: 'u', password: 'p' }))).resolves.toEqual({ imageRef: img.configDigest });
    expect(seen.map((s) => s.path).sort()).toEqual([`/${img.configDigest}`, `/${img.layerDigests[0]}`].sort());
    expect(seen.every((s) => s.authorization === undefined)).toBe(true);
  } finally {
    await k.cleanup();
    await reg.close();
    await new Promise<void>((r) => store.close(() => r()));
  }
});
