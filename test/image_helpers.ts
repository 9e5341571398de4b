// Helpers for the image service tests: requests, a krilld configured for the
// local registry, registry proxies that count, slow down or stall traffic,
// a fake registry serving hand-made content, and tree checks through an
// overlay mount of an image's layers.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { ImageSpec, PullImageRequest } from '../api/runtime/v1/api';
import { startKrilld, type Krilld, type KrilldOptions } from './harness/krilld';
import { testBaseDir } from './harness/paths';

export interface LayerFacts {
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
}

export interface TreeEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'fifo';
  mode?: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  mtime?: string;
  target?: string;
}

export interface ImageFacts {
  reference: string;
  repository: string;
  tag: string;
  digestReference: string;
  digest: string;
  mediaType: string;
  configDigest?: string;
  layers?: LayerFacts[];
  imageConfig?: Record<string, unknown>;
  expectConfig?: Record<string, unknown>;
  tree?: { present: TreeEntry[]; absent: string[]; hardlinks: string[][] };
  layerEntries?: { layer: number; type: string; path: string; mode?: string; uid?: number; gid?: number; linkname?: string }[];
  user?: { spec: string; uid: number; gid: number; username: string };
  http?: { path: string; body: string; bodySha256: string };
  manifests?: (ImageFacts & { indexPlatform: { architecture: string; os: string; variant?: string } })[];
  platforms?: { os: string; architecture: string; variant?: string; archFile: string }[];
}

export const REGISTRY = process.env.KRILL_TEST_REGISTRY ?? '127.0.0.1:5055';

export function testImages(): Record<string, ImageFacts> {
  const text = process.env.KRILL_TEST_IMAGES;
  if (!text) throw new Error('KRILL_TEST_IMAGES is not set: the jest global setup builds the test images (hack/test-images)');
  return (JSON.parse(text) as { images: Record<string, ImageFacts> }).images;
}

export function spec(image: string): ImageSpec {
  return { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' };
}

export function pullReq(image: string, auth?: Partial<NonNullable<PullImageRequest['auth']>>): PullImageRequest {
  return {
    image: spec(image),
    auth: auth ? { username: '', password: '', auth: '', serverAddress: '', identityToken: '', registryToken: '', ...auth } : undefined,
    sandboxConfig: undefined,
  };
}

/** A krilld whose image settings are `imageToml` (lines of the [image] table and its subtables). */
/**
 * [image.registries] tables marking loopback registries insecure explicitly:
 * without it they are reached over plain HTTP, but never with credentials.
 */
export function insecureRegistries(...addrs: string[]): string {
  return addrs.map((a) => `[image.registries."${a}"]\ninsecure = true\n`).join('');
}

export function startImageKrilld(imageToml = '', opts: KrilldOptions = {}): Promise<Krilld> {
  const quiet = /^progress_log_interval\s*=/m.test(imageToml) ? '' : 'progress_log_interval = "0s"\n';
  return startKrilld({ ...opts, config: `${opts.config ?? ''}\n[image]\n${quiet}${imageToml}\n` });
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Directory names under <root>/layers: committed layers (hex), and leftovers (tmp-*, trash-*). */
export function layerDirs(k: Krilld): { layers: string[]; leftovers: string[] } {
  const dir = join(k.root, 'layers');
  const names = existsSync(dir) ? readdirSync(dir) : [];
  return { layers: names.filter((n) => /^[a-f0-9]{64}$/.test(n)), leftovers: names.filter((n) => n.startsWith('tmp-') || n.startsWith('trash-')) };
}

export function contentBlobs(k: Krilld): string[] {
  const dir = join(k.root, 'content', 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir) : [];
}

export function ingestFiles(k: Krilld): string[] {
  const dir = join(k.root, 'content', 'ingest');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** The layer directories of a pulled image, bottom first (from ImageStatus verbose). */
export async function layerPaths(k: Krilld, image: string): Promise<string[]> {
  const s = await k.client.image.imageStatus({ image: spec(image), verbose: true });
  if (!s.image) throw new Error(`${image} is not present`);
  return (JSON.parse(s.info.info!) as { layers: { path: string }[] }).layers.map((l) => l.path);
}

/** Mounts the layers read-only (overlay), runs `fn` on the merged tree, unmounts. */
export async function withMergedTree<T>(lowerBottomFirst: string[], fn: (root: string) => Promise<T> | T): Promise<T> {
  if (lowerBottomFirst.length === 1) return fn(lowerBottomFirst[0]!);
  const target = mkdtempSync(join(testBaseDir(), 'merged-'));
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[...lowerBottomFirst].reverse().join(':')}`, target]);
  try {
    return await fn(target);
  } finally {
    execFileSync('umount', [target]);
    rmSync(target, { recursive: true, force: true });
  }
}

const TYPE_OF = (mode: number): string => {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    default:
      return 'other';
  }
};

/** Compares a tree with the image builder's facts; returns every difference. */
export function treeDifferences(root: string, tree: NonNullable<ImageFacts['tree']>): string[] {
  const diffs: string[] = [];
  for (const e of tree.present) {
    const p = join(root, e.path);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      diffs.push(`${e.path}: missing`);
      continue;
    }
    const type = TYPE_OF(st.mode);
    if (type !== e.type) diffs.push(`${e.path}: type ${type}, expected ${e.type}`);
    if (e.mode !== undefined && (st.mode & 0o7777).toString(8).padStart(4, '0') !== e.mode) diffs.push(`${e.path}: mode ${(st.mode & 0o7777).toString(8)}, expected ${e.mode}`);
    if (st.uid !== e.uid || st.gid !== e.gid) diffs.push(`${e.path}: owner ${st.uid}:${st.gid}, expected ${e.uid}:${e.gid}`);
    if (e.type === 'file') {
      const data = readFileSync(p);
      if (e.size !== undefined && data.length !== e.size) diffs.push(`${e.path}: size ${data.length}, expected ${e.size}`);
      if (e.sha256 !== undefined && sha256(data) !== e.sha256) diffs.push(`${e.path}: content differs`);
    }
    if (e.type === 'symlink' && e.target !== undefined) {
      const target = require('node:fs').readlinkSync(p) as string;
      if (target !== e.target) diffs.push(`${e.path}: symlink to ${target}, expected ${e.target}`);
    }
    if (e.mtime !== undefined && Math.floor(st.mtimeMs / 1000) !== Date.parse(e.mtime) / 1000) diffs.push(`${e.path}: mtime ${st.mtime.toISOString()}, expected ${e.mtime}`);
  }
  for (const a of tree.absent) if (existsSync(join(root, a)) || isLink(join(root, a))) diffs.push(`${a}: present, expected absent`);
  for (const group of tree.hardlinks) {
    const inodes = new Set(group.map((p) => lstatSync(join(root, p)).ino));
    if (inodes.size !== 1) diffs.push(`hard links ${group.join(', ')} are not one inode`);
  }
  return diffs;
}

function isLink(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export interface ProxyRequest {
  method: string;
  path: string;
}

export interface ProxyOptions {
  /** Slow blob bodies down: at most this many bytes per 50 ms. */
  throttleBytesPer50ms?: number;
  /** Send the headers and this many bytes of matching blobs, then nothing more. */
  stall?: { match: RegExp; afterBytes: number };
  /** Cut the connection of the first matching blob response after this many bytes. */
  reset?: { match: RegExp; afterBytes: number };
  /** Answer matching requests with this status instead of forwarding (the first `times` of them, default all). */
  fail?: { match: RegExp; status: number; times?: number };
}

export interface Proxy {
  /** "127.0.0.1:port" */
  addr: string;
  url: string;
  requests: ProxyRequest[];
  /** Blob bytes sent to clients so far. */
  blobBytes(): number;
  /** Resolves once at least `n` blob bytes were sent. */
  waitForBlobBytes(n: number): Promise<void>;
  close(): Promise<void>;
}

/** An HTTP proxy in front of a registry that records requests and can slow or stall blob transfers. */
export async function startProxy(upstream: string, opts: ProxyOptions = {}): Promise<Proxy> {
  const requests: ProxyRequest[] = [];
  let sent = 0;
  let failed = 0;
  let resetDone = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const bump = (n: number): void => {
    sent += n;
    for (const w of [...waiters]) {
      if (sent >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path });
    if (opts.fail && opts.fail.match.test(path) && (opts.fail.times === undefined || failed < opts.fail.times)) {
      failed++;
      res.writeHead(opts.fail.status, { 'content-type': 'text/plain' }).end('injected failure');
      return;
    }
    const up = http.request({ agent: false, host: upstream.split(':')[0], port: Number(upstream.split(':')[1]), method: req.method, path, headers: { ...req.headers, host: upstream } }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const isBlob = /\/blobs\/sha256:/.test(path);
      if (!isBlob) {
        ur.pipe(res);
        return;
      }
      let stall = opts.stall && opts.stall.match.test(path) ? opts.stall.afterBytes : undefined;
      const cut = !resetDone && opts.reset && opts.reset.match.test(path);
      if (cut) {
        resetDone = true;
        stall = opts.reset!.afterBytes;
      }
      void (async () => {
        let passed = 0;
        for await (const chunk of ur as AsyncIterable<Buffer>) {
          let c = chunk;
          while (c.length > 0) {
            if (closed || res.destroyed) return;
            let n = Math.min(c.length, opts.throttleBytesPer50ms ?? c.length);
            if (stall !== undefined) n = Math.min(n, stall - passed);
            if (n > 0) {
              res.write(c.subarray(0, n));
              passed += n;
              bump(n);
              c = c.subarray(n);
            }
            if (stall !== undefined && passed >= stall) {
              if (cut) res.socket?.destroy();
              return; // never another byte, never the end (or the connection is gone)
            }
            if (opts.throttleBytesPer50ms) await new Promise<void>((r) => {
              const t = setTimeout(() => { timers.delete(t); r(); }, 50);
              timers.add(t);
            });
          }
        }
        res.end();
      })().catch(() => res.destroy());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    addr,
    url: `http://${addr}`,
    requests,
    blobBytes: () => sent,
    waitForBlobBytes: (n) => (sent >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: async () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface DockerRegistry {
  /** "127.0.0.1:port" */
  addr: string;
  stop(): Promise<void>;
}

/**
 * A docker-registry of its own on 127.0.0.1 (storage under `dir`), with the
 * `auth:` section `authYaml` of its config (htpasswd, token; "" for none).
 */
export async function startDockerRegistry(dir: string, authYaml: string): Promise<DockerRegistry> {
  const port = await closedPort();
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`,
  );
  const logFile = join(dir, 'registry.log');
  const out = openSync(logFile, 'a');
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', out, out] });
  closeSync(out);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      http.get(`http://127.0.0.1:${port}/v2/`, (res) => {
        res.resume();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (up) return { addr: `127.0.0.1:${port}`, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry in ${dir} did not start: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
}

/** Copies an image between registries with skopeo (TLS unverified), asynchronously: servers in the test process keep answering. */
export async function skopeoCopy(src: string, dest: string, extra: string[] = []): Promise<void> {
  const child = spawn('skopeo', ['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, `docker://${src}`, `docker://${dest}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`skopeo copy to ${dest} failed: ${err}`);
}

/** A port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Blob GETs (not HEADs) seen by a proxy, by digest. */
export function blobGets(p: Proxy): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of p.requests) {
    const m = /\/blobs\/(sha256:[a-f0-9]{64})/.exec(r.path);
    if (m && r.method === 'GET') out.set(m[1]!, (out.get(m[1]!) ?? 0) + 1);
  }
  return out;
}

export interface FakeImage {
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
  reference: string;
}

/**
 * A registry serving hand-made images from memory (plain HTTP on loopback),
 * with knobs to misbehave: other bytes than a blob's digest, more bytes than
 * its descriptor, no Content-Length.
 */
export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { body: Buffer; mediaType: string }>();
  /** Bytes served for a digest instead of the real blob. */
  readonly serveInstead = new Map<string, Buffer>();
  /** Digests served with chunked encoding (no Content-Length). */
  readonly chunked = new Set<string>();
  readonly requests: ProxyRequest[] = [];
  /** "user:password" the registry wants (Basic); unset: anonymous. */
  basicAuth: string | undefined;
  /** Blob GETs are answered with a 307 to `${blobRedirect}/<digest>` (as registries backed by object storage do). */
  blobRedirect: string | undefined;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  addr = '';

  addBlob(data: Buffer): string {
    const digest = `sha256:${sha256(data)}`;
    this.blobs.set(digest, data);
    return digest;
  }

  /** An image of the given layers (tar bytes, gzipped here), tagged repo:tag. */
  addImage(
    repo: string,
    tag: string,
    layerTars: Buffer[],
    opts: {
      diffIds?: string[];
      manifest?: (m: Record<string, unknown>) => Record<string, unknown>;
      /** How layers are compressed (default gzip). */
      encodeLayer?: (tar: Buffer) => { data: Buffer; mediaType: string };
    } = {},
  ): FakeImage {
    const { gzipSync } = require('node:zlib') as typeof import('node:zlib');
    const encode = opts.encodeLayer ?? ((t: Buffer) => ({ data: gzipSync(t), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }));
    const layers = layerTars.map((t) => {
      const { data, mediaType } = encode(t);
      return { mediaType, digest: this.addBlob(data), size: data.length };
    });
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: opts.diffIds ?? layerTars.map((t) => `sha256:${sha256(t)}`) },
      }),
    );
    const configDigest = this.addBlob(config);
    let manifest: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers,
    };
    if (opts.manifest) manifest = opts.manifest(manifest);
    const body = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = `sha256:${sha256(body)}`;
    const mediaType = typeof manifest.mediaType === 'string' ? manifest.mediaType : 'application/vnd.oci.image.manifest.v1+json';
    this.manifests.set(`${repo}:${tag}`, { body, mediaType });
    this.manifests.set(`${repo}:${manifestDigest}`, { body, mediaType });
    return { manifestDigest, configDigest, layerDigests: layers.map((l) => l.digest), reference: `${this.addr}/${repo}:${tag}` };
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      this.requests.push({ method: req.method ?? 'GET', path });
      if (this.basicAuth && req.headers.authorization !== `Basic ${Buffer.from(this.basicAuth).toString('base64')}`) {
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      }
      if (path === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
      if (!m) return void res.writeHead(404).end();
      const [, repo, kind, ref] = m as unknown as [string, string, string, string];
      if (kind === 'manifests') {
        const found = this.manifests.get(`${repo}:${ref}`);
        if (!found) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        res.writeHead(200, { 'content-type': found.mediaType, 'content-length': found.body.length, 'docker-content-digest': `sha256:${sha256(found.body)}` });
        return void res.end(req.method === 'HEAD' ? undefined : found.body);
      }
      if (this.blobRedirect) return void res.writeHead(307, { location: `${this.blobRedirect}/${ref}` }).end();
      const data = this.serveInstead.get(ref) ?? this.blobs.get(ref);
      if (!data) return void res.writeHead(404).end();
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' };
      if (!this.chunked.has(ref)) headers['content-length'] = data.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : data);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.addr = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
