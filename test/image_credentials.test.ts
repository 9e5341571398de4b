// Registry credentials go only where they belong. A real docker-registry
// behind htpasswd holds a private image; small servers in this file play a
// hostile mirror, a redirector, object storage on another host and token
// realms, and record every Authorization header they receive.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { grpc } from '../pkg/criclient/client';
import type { Krilld } from './harness/krilld';
import { testBaseDir } from './harness/paths';
import { insecureRegistries, pullReq, skopeoCopy, spec, startDockerRegistry, startImageKrilld, testImages, type DockerRegistry } from './image_helpers';

const SOURCE = testImages().httpd!;
const USER = 'krill';
const PASS = `pw-${randomBytes(4).toString('hex')}`;
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const REPO = 'private/httpd';

let dir: string;
let reg: DockerRegistry;
let k: Krilld;
const servers: Recorder[] = [];

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

interface Recorder {
  /** "host:port" */
  addr: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** An HTTP(S) server on `host` that records each request, then lets `handle` answer it. */
async function record(host: string, handle: (req: http.IncomingMessage, res: http.ServerResponse) => void, tls?: { key: string; cert: string }): Promise<Recorder> {
  const seen: Seen[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    handle(req, res);
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((r) => server.listen(0, host, r));
  const rec: Recorder = {
    addr: `${host}:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  servers.push(rec);
  return rec;
}

/** Forwards a request to the real registry, headers (Authorization included) and all. */
function forward(req: http.IncomingMessage, res: http.ServerResponse, path = req.url ?? '/', headers: http.OutgoingHttpHeaders = req.headers): void {
  const [host, port] = reg.addr.split(':') as [string, string];
  const up = http.request({ host, port: Number(port), method: req.method, path, headers: { ...headers, host: reg.addr }, agent: false }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

const withoutAuth = (seen: Seen[]): boolean => seen.every((s) => s.authorization === undefined);

async function pullWith(krilld: Krilld, image: string, auth?: Parameters<typeof pullReq>[1]): Promise<{ code: number; details: string } | undefined> {
  return krilld.client.image.pullImage(pullReq(image, auth)).then(
    () => undefined,
    (e: unknown) => e as { code: number; details: string },
  );
}

async function removeAll(krilld: Krilld): Promise<void> {
  for (const i of (await krilld.client.image.listImages({ filter: undefined })).images) await krilld.client.image.removeImage({ image: spec(i.id) });
}

/** A krilld with `toml` in its [image] table; stopped after `fn`. */
async function withKrilld(toml: string, fn: (krilld: Krilld) => Promise<void>): Promise<void> {
  const krilld = await startImageKrilld(toml);
  try {
    await fn(krilld);
  } finally {
    await krilld.cleanup();
  }
}

function authFile(name: string, entries: Record<string, string>): string {
  const file = join(dir, name);
  const auths: Record<string, { auth: string }> = {};
  for (const [host, userPass] of Object.entries(entries)) auths[host] = { auth: Buffer.from(userPass).toString('base64') };
  writeFileSync(file, JSON.stringify({ auths }));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(testBaseDir(), 'creds-'));
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', USER, PASS]));
  reg = await startDockerRegistry(join(dir, 'registry'), `auth:\n  htpasswd:\n    realm: krill-basic\n    path: ${join(dir, 'htpasswd')}\n`);
  await skopeoCopy(SOURCE.reference, `${reg.addr}/${REPO}:v1`, ['--dest-creds', `${USER}:${PASS}`]);
  k = await startImageKrilld(insecureRegistries(reg.addr));
});

afterAll(async () => {
  await k?.cleanup();
  for (const s of servers) await s.close();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('mirrors', () => {
  let basicMirror: Recorder;
  let bearerMirror: Recorder;
  let mirrorToml: string;

  beforeAll(async () => {
    // Ask every client for credentials, and never accept any.
    basicMirror = await record('127.0.0.1', (_req, res) => void res.writeHead(401, { 'www-authenticate': 'Basic realm="mirror"' }).end());
    bearerMirror = await record('127.0.0.1', (req, res) => {
      if (req.url?.startsWith('/token')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"anonymous"}');
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${bearerMirror.addr}/token",service="mirror"` }).end();
    });
    mirrorToml = `mirrors = ["http://${basicMirror.addr}", "http://${bearerMirror.addr}"]\n`;
  });
  beforeEach(() => {
    basicMirror.seen.length = 0;
    bearerMirror.seen.length = 0;
  });

  test('a mirror answering 401 gets neither the CRI credentials nor the auth-file entry of the registry', async () => {
    const file = authFile('registry-only.json', { [reg.addr]: `${USER}:${PASS}` });
    await withKrilld(`auth_file = "${file}"\n[image.registries."${reg.addr}"]\ninsecure = true\n${mirrorToml}`, async (krilld) => {
      // CRI credentials: the mirrors refuse, the registry itself serves.
      await expect(pullWith(krilld, `${reg.addr}/${REPO}:v1`, { username: USER, password: PASS })).resolves.toBeUndefined();
      await removeAll(krilld);
      // The auth file's entry for the registry.
      await expect(pullWith(krilld, `${reg.addr}/${REPO}:v1`)).resolves.toBeUndefined();
    });
    expect(basicMirror.seen.length).toBeGreaterThanOrEqual(2);
    expect(bearerMirror.seen.some((s) => s.path.startsWith('/token'))).toBe(true);
    expect(withoutAuth(basicMirror.seen)).toBe(true);
    // The Bearer mirror sees only the anonymous token it handed out itself.
    expect(bearerMirror.seen.filter((s) => s.path.startsWith('/token')).every((s) => s.authorization === undefined)).toBe(true);
    expect(bearerMirror.seen.every((s) => s.authorization === undefined || s.authorization === 'Bearer anonymous')).toBe(true);
  });

  test('share_credentials_with_mirrors = true: the mirrors are offered the registry credentials', async () => {
    await withKrilld(`[image.registries."${reg.addr}"]\ninsecure = true\n${mirrorToml}share_credentials_with_mirrors = true\n`, async (krilld) => {
      await expect(pullWith(krilld, `${reg.addr}/${REPO}:v1`, { username: USER, password: PASS })).resolves.toBeUndefined();
    });
    expect(basicMirror.seen.map((s) => s.authorization)).toContain(BASIC);
    expect(bearerMirror.seen.filter((s) => s.path.startsWith('/token')).map((s) => s.authorization)).toContain(BASIC);
  });

  test("a mirror's own auth-file entry goes to it, never the registry's", async () => {
    const file = authFile('with-mirror.json', { [reg.addr]: `${USER}:${PASS}`, [`http://${basicMirror.addr}`]: 'mirror-user:mirror-pw' });
    await withKrilld(`auth_file = "${file}"\n[image.registries."${reg.addr}"]\ninsecure = true\n${mirrorToml}`, async (krilld) => {
      await expect(pullWith(krilld, `${reg.addr}/${REPO}:v1`)).resolves.toBeUndefined();
    });
    const offered = basicMirror.seen.map((s) => s.authorization).filter((a) => a !== undefined);
    expect(offered.length).toBeGreaterThan(0);
    expect(new Set(offered)).toEqual(new Set([`Basic ${Buffer.from('mirror-user:mirror-pw').toString('base64')}`]));
  });
});

describe('redirects', () => {
  test('a redirect to another host gets no credentials; a same-origin redirect keeps them', async () => {
    // "Object storage" on another host (127.0.0.2) serves blobs without asking for credentials.
    const storage = await record('127.0.0.2', (req, res) => forward(req, res, req.url, { authorization: BASIC }));
    // The registry as clients see it: manifests redirected within itself, blobs to the storage host.
    const front = await record('127.0.0.1', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (/\/manifests\//.test(url.pathname) && !url.searchParams.has('moved')) return void res.writeHead(307, { location: `${url.pathname}?moved=1` }).end();
      if (/\/blobs\//.test(url.pathname) && req.headers.authorization) return void res.writeHead(307, { location: `http://${storage.addr}${url.pathname}` }).end();
      forward(req, res, url.pathname);
    });
    await withKrilld(insecureRegistries(front.addr), async (krilld) => {
      await expect(pullWith(krilld, `${front.addr}/${REPO}:v1`, { username: USER, password: PASS })).resolves.toBeUndefined();
    });
    const blobs = storage.seen.filter((s) => s.path.includes('/blobs/'));
    expect(blobs.length).toBe(1 + SOURCE.layers!.length); // the config and every layer
    expect(withoutAuth(storage.seen)).toBe(true);
    // Every authenticated manifest request was followed to its new place with its credentials.
    const manifests = front.seen.filter((s) => s.path.includes('/manifests/') && s.authorization === BASIC);
    const asked = manifests.filter((s) => !s.path.includes('?moved=1')).length;
    expect(asked).toBeGreaterThan(0);
    expect(manifests.length - asked).toBe(asked);
  });
});

describe('token realms', () => {
  let realmKey: string;
  let realmCert: string;

  beforeAll(() => {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'realm-key.pem'), '-out', join(dir, 'realm-cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.2', '-addext', 'subjectAltName=IP:127.0.0.2'],
      { stdio: 'pipe' },
    );
    realmKey = readFileSync(join(dir, 'realm-key.pem'), 'utf8');
    realmCert = readFileSync(join(dir, 'realm-cert.pem'), 'utf8');
  });

  /** A token service: the right Basic credentials get "good-token", anyone else "anonymous-token". */
  const tokenService = (_req: http.IncomingMessage, res: http.ServerResponse, auth: string | undefined): void => {
    const token = auth === BASIC ? 'good-token' : 'anonymous-token';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
  };

  /** A registry that sends clients to `realm` for a token and serves the private image for "good-token" only. */
  async function tokenRegistry(realm: () => string): Promise<Recorder> {
    return record('127.0.0.1', (req, res) => {
      if (req.headers.authorization !== 'Bearer good-token') {
        return void res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm()}",service="krill-test",scope="repository:${REPO}:pull"` }).end();
      }
      forward(req, res, req.url, { ...req.headers, authorization: BASIC });
    });
  }

  test('a realm on another host over plain HTTP gets no credentials: the token is asked anonymously and the pull fails saying why', async () => {
    const realm = await record('127.0.0.2', (req, res) => tokenService(req, res, req.headers.authorization));
    const registry = await tokenRegistry(() => `http://${realm.addr}/token`);
    let err: { code: number; details: string } | undefined;
    await withKrilld(insecureRegistries(registry.addr), async (krilld) => {
      err = await pullWith(krilld, `${registry.addr}/${REPO}:v1`, { username: USER, password: PASS });
    });
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(err!.details).toContain(`credentials were withheld because the token realm http://${realm.addr} is plain HTTP on another host than ${registry.addr}`);
    expect(realm.seen.length).toBeGreaterThan(0);
    expect(withoutAuth(realm.seen)).toBe(true);
    expect(realm.seen.every((s) => !s.path.includes('account='))).toBe(true);
  });

  test('a realm on the same host over plain HTTP (a loopback registry) gets them', async () => {
    const realm = await record('127.0.0.1', (req, res) => tokenService(req, res, req.headers.authorization));
    const registry = await tokenRegistry(() => `http://${realm.addr}/token`);
    await withKrilld(insecureRegistries(registry.addr), async (krilld) => {
      await expect(pullWith(krilld, `${registry.addr}/${REPO}:v1`, { username: USER, password: PASS })).resolves.toBeUndefined();
    });
    expect(realm.seen.map((s) => s.authorization)).toContain(BASIC);
  });

  test('a realm on another host over HTTPS gets them (as Docker Hub sends clients to auth.docker.io)', async () => {
    const realm = await record('127.0.0.2', (req, res) => tokenService(req, res, req.headers.authorization), { key: realmKey, cert: realmCert });
    const registry = await tokenRegistry(() => `https://${realm.addr}/token`);
    await withKrilld(`[image.registries."${registry.addr}"]\ninsecure = true\nca_file = "${join(dir, 'realm-cert.pem')}"\n`, async (krilld) => {
      await expect(pullWith(krilld, `${registry.addr}/${REPO}:v1`, { username: USER, password: PASS })).resolves.toBeUndefined();
    });
    expect(realm.seen.map((s) => s.authorization)).toContain(BASIC);
  });
});

describe('server_address', () => {
  let front: Recorder;
  beforeAll(async () => {
    front = await record('127.0.0.1', (req, res) => forward(req, res));
  });
  beforeEach(() => {
    front.seen.length = 0;
  });
  afterEach(() => removeAll(k));

  test('a loopback registry reached over plain HTTP without insecure = true gets no credentials, and the error says how to allow it', async () => {
    const err = await pullWith(k, `${front.addr}/${REPO}:v1`, { username: USER, password: PASS });
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(err!.details).toContain(`${front.addr} is reached over plain HTTP and is not configured insecure (image.registries."${front.addr}".insecure)`);
    expect(front.seen.length).toBeGreaterThan(0);
    expect(withoutAuth(front.seen)).toBe(true);
  });

  test('credentials for another registry are not given to this one', async () => {
    const err = await pullWith(k, `${front.addr}/${REPO}:v1`, { username: USER, password: PASS, serverAddress: 'other.example:5000' });
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('requires authentication') });
    expect(front.seen.length).toBeGreaterThan(0);
    expect(withoutAuth(front.seen)).toBe(true);
  });

  test('a server_address naming this registry, with scheme and path, gives them', async () => {
    await withKrilld(insecureRegistries(front.addr), async (krilld) => {
      await expect(pullWith(krilld, `${front.addr}/${REPO}:v1`, { username: USER, password: PASS, serverAddress: `http://${front.addr}/v2/` })).resolves.toBeUndefined();
    });
    expect(front.seen.map((s) => s.authorization)).toContain(BASIC);
  });

  test('with a server_address of another registry, the auth file applies', async () => {
    const file = authFile('front.json', { [front.addr]: `${USER}:${PASS}` });
    await withKrilld(`auth_file = "${file}"\n${insecureRegistries(front.addr)}`, async (krilld) => {
      await expect(pullWith(krilld, `${front.addr}/${REPO}:v1`, { username: 'someone', password: 'else', serverAddress: 'https://other.example' })).resolves.toBeUndefined();
    });
    expect(new Set(front.seen.map((s) => s.authorization).filter(Boolean))).toEqual(new Set([BASIC]));
  });
});
