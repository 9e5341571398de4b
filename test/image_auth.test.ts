// Registries that want credentials, with the real WWW-Authenticate flow:
// docker-registry behind htpasswd (Basic) and docker-registry behind a token
// service (Bearer JWTs that a small token server in this file signs with a
// key the registry trusts). Credentials come from the CRI AuthConfig in all
// its forms, or from the auth file.
import { execFileSync } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { grpc } from '../pkg/criclient/client';
import type { Krilld } from './harness/krilld';
import { testBaseDir } from './harness/paths';
import { insecureRegistries, pullReq, REGISTRY, skopeoCopy, spec, startDockerRegistry, startImageKrilld, testImages, type DockerRegistry } from './image_helpers';

const images = testImages();
const SOURCE = images.httpd!;
const USER = 'krill';
const PASS = `pw-${randomBytes(4).toString('hex')}`;
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

let dir: string;
const registries: DockerRegistry[] = [];

async function startRegistry(name: string, auth: string): Promise<string> {
  const r = await startDockerRegistry(join(dir, name), auth);
  registries.push(r);
  return r.addr;
}

/** Copies the source image to `dest` with skopeo, asynchronously: the token server lives in this process. */
const push = (dest: string, extra: string[]): Promise<void> => skopeoCopy(SOURCE.reference, dest, extra);

// ---- a token server: Basic credentials or a refresh token in, a JWT out
let tokenServer: http.Server;
let tokenUrl = '';
let keyPem = '';
let certDer = '';
const tokenRequests: { method: string; scope: string; account: string }[] = [];
const REFRESH_TOKEN = `refresh-${randomBytes(8).toString('hex')}`;

function jwt(scope: string, subject: string): string {
  const access = scope
    .split(' ')
    .filter(Boolean)
    .map((s) => {
      const [type, name, actions] = s.split(':') as [string, string, string];
      return { type, name, actions: actions.split(',') };
    });
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = { iss: 'krill-test-issuer', sub: subject, aud: 'krill-test-registry', exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
  const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(signing).sign(keyPem);
  return `${signing}.${b64url(sig)}`;
}

function handleToken(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    if (req.method === 'POST') {
      const form = new URLSearchParams(body);
      tokenRequests.push({ method: 'POST', scope: form.get('scope') ?? '', account: '' });
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH_TOKEN) return void res.writeHead(401).end('{"error":"invalid_grant"}');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: jwt(form.get('scope') ?? '', USER), expires_in: 300 }));
    }
    const scope = url.searchParams.getAll('scope').join(' ');
    tokenRequests.push({ method: 'GET', scope, account: url.searchParams.get('account') ?? '' });
    const auth = req.headers.authorization ?? '';
    if (auth !== `Basic ${b64(`${USER}:${PASS}`)}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: jwt(scope, USER), expires_in: 300 }));
  });
}

let basicReg = '';
let tokenReg = '';
let k: Krilld;

beforeAll(async () => {
  dir = mkdtempSync(join(testBaseDir(), 'auth-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=krill-test-token'], { stdio: 'pipe' });
  keyPem = readFileSync(join(dir, 'key.pem'), 'utf8');
  certDer = readFileSync(join(dir, 'cert.pem'), 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  tokenServer = http.createServer(handleToken);
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;

  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', USER, PASS]));
  basicReg = await startRegistry('basic', `auth:\n  htpasswd:\n    realm: krill-basic\n    path: ${join(dir, 'htpasswd')}\n`);
  tokenReg = await startRegistry(
    'token',
    `auth:\n  token:\n    realm: ${tokenUrl}\n    service: krill-test-registry\n    issuer: krill-test-issuer\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`,
  );
  await push(`${basicReg}/private/httpd:v1`, ['--dest-creds', `${USER}:${PASS}`]);
  await push(`${tokenReg}/private/httpd:v1`, ['--dest-creds', `${USER}:${PASS}`]);
  writeFileSync(join(dir, 'auth.json'), JSON.stringify({ auths: { [`http://${basicReg}`]: { auth: b64(`${USER}:${PASS}`) } } }));
  k = await startImageKrilld(insecureRegistries(basicReg, tokenReg));
});

afterAll(async () => {
  await k?.cleanup();
  for (const r of registries) await r.stop();
  await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

const removeAll = async (): Promise<void> => {
  for (const i of (await k.client.image.listImages({ filter: undefined })).images) await k.client.image.removeImage({ image: spec(i.id) });
};

describe('basic auth (htpasswd)', () => {
  afterEach(removeAll);

  test('without credentials the pull is denied with a clear message', async () => {
    await expect(k.client.image.pullImage(pullReq(`${basicReg}/private/httpd:v1`))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('requires authentication'),
    });
  });

  test('wrong credentials are refused', async () => {
    await expect(k.client.image.pullImage(pullReq(`${basicReg}/private/httpd:v1`, { username: USER, password: 'wrong' }))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('refused the credentials'),
    });
  });

  test('username/password and the auth field both pull', async () => {
    const a = await k.client.image.pullImage(pullReq(`${basicReg}/private/httpd:v1`, { username: USER, password: PASS }));
    expect(a.imageRef).toBe(SOURCE.configDigest);
    await removeAll();
    const b = await k.client.image.pullImage(pullReq(`${basicReg}/private/httpd:v1`, { auth: b64(`${USER}:${PASS}`) }));
    expect(b.imageRef).toBe(SOURCE.configDigest);
  });

  test('credentials from the auth file (docker config.json)', async () => {
    const k2 = await startImageKrilld(`auth_file = "${join(dir, 'auth.json')}"\n${insecureRegistries(basicReg)}`);
    try {
      await expect(k2.client.image.pullImage(pullReq(`${basicReg}/private/httpd:v1`))).resolves.toEqual({ imageRef: SOURCE.configDigest });
    } finally {
      await k2.cleanup();
    }
  });
});

describe('bearer tokens (a token service)', () => {
  afterEach(removeAll);

  test('without credentials the token service refuses and the pull is denied', async () => {
    await expect(k.client.image.pullImage(pullReq(`${tokenReg}/private/httpd:v1`))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('refused anonymous access for repository:private/httpd:pull'),
    });
  });

  test('wrong credentials are refused by the token service', async () => {
    await expect(k.client.image.pullImage(pullReq(`${tokenReg}/private/httpd:v1`, { username: USER, password: 'nope' }))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('refused the credentials'),
    });
  });

  test('username/password get a token for the challenge scope and the pull succeeds', async () => {
    const before = tokenRequests.length;
    const r = await k.client.image.pullImage(pullReq(`${tokenReg}/private/httpd:v1`, { username: USER, password: PASS }));
    expect(r.imageRef).toBe(SOURCE.configDigest);
    const mine = tokenRequests.slice(before);
    expect(mine[0]).toEqual({ method: 'GET', scope: 'repository:private/httpd:pull', account: USER });
    // One token serves the manifest and every blob.
    expect(mine).toHaveLength(1);
  });

  test('an identity token is exchanged (OAuth2 refresh_token grant); a registry token is used as is', async () => {
    const before = tokenRequests.length;
    await expect(k.client.image.pullImage(pullReq(`${tokenReg}/private/httpd:v1`, { identityToken: REFRESH_TOKEN }))).resolves.toEqual({ imageRef: SOURCE.configDigest });
    expect(tokenRequests.slice(before).map((t) => t.method)).toEqual(['POST']);
    await removeAll();
    const token = jwt('repository:private/httpd:pull', USER);
    const before2 = tokenRequests.length;
    await expect(k.client.image.pullImage(pullReq(`${tokenReg}/private/httpd:v1`, { registryToken: token }))).resolves.toEqual({ imageRef: SOURCE.configDigest });
    expect(tokenRequests.length).toBe(before2);
    await expect(k.client.image.pullImage(pullReq(`${tokenReg}/private/httpd:v1`, { identityToken: 'not-the-refresh-token' }))).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });
});

test('the plain registry of the other tests needs no credentials (sanity)', async () => {
  await expect(k.client.image.pullImage(pullReq(`${REGISTRY}/krill-test/httpd:latest`))).resolves.toEqual({ imageRef: SOURCE.configDigest });
  await removeAll();
});
