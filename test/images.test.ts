// Checks that the test images hack/test-images pushed to the test registry are
// what /var/lib/krill-test/images.json claims, reading them back with skopeo,
// tar and umoci only: no Krill code. These images are the oracle for Krill's
// image puller and unpacker, so they must be proved independently of it.
//
// Needs (the integration global setup does it): hack/registry start and
// hack/test-images.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';

const IMAGES_JSON = process.env.KRILL_TEST_IMAGES_JSON ?? '/var/lib/krill-test/images.json';

const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

interface LayerFact { digest: string; mediaType: string; size: number; diffId: string }
interface ManifestFact {
  digest: string;
  mediaType: string;
  configDigest: string;
  configMediaType: string;
  platform: { os: string; architecture: string };
  layers: LayerFact[];
  imageConfig: Record<string, unknown>;
}
interface TreeFact {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'fifo';
  mode?: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  mtime?: string;
}
interface EntryFact {
  layer: number;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'whiteout' | 'opaque';
  path: string;
  mode?: string;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: string;
}
interface ImageFact extends ManifestFact {
  name: string;
  reference: string;
  repository: string;
  digestReference: string;
  layerCount?: number;
  expectConfig?: Record<string, unknown>;
  expectLayerMediaType?: string;
  tree?: { present: TreeFact[]; absent: string[]; hardlinks: string[][] };
  layerEntries?: EntryFact[];
  user?: { spec: string; uid: number; gid: number; username: string; homeDir: string; supplementaryGroups: number[] };
  http?: { port: number; path: string; body: string; bodySha256: string };
  manifests?: (ManifestFact & { indexPlatform: { os: string; architecture: string; variant?: string } })[];
  platforms?: { os: string; architecture: string; variant?: string; archFile: string }[];
}
interface ImagesDoc { registry: string; images: Record<string, ImageFact> }

function loadImages(): ImagesDoc {
  try {
    return JSON.parse(readFileSync(IMAGES_JSON, 'utf8')) as ImagesDoc;
  } catch (err) {
    throw new Error(`cannot read ${IMAGES_JSON} (run hack/registry start && hack/test-images): ${String(err)}`);
  }
}
const doc = loadImages();
const images = doc.images;
const names = Object.keys(images).sort();
// `large` (opt-in, ~200 MB) is checked from its manifests only.
const copied = names.filter((n) => n !== 'large');

function run(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'buffer', maxBuffer: 256 << 20, env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr.toString()}`));
      else resolve(stdout);
    });
  });
}
const text = async (cmd: string, args: string[]) => (await run(cmd, args)).toString('utf8');

const sha256 = (data: Buffer | string) => 'sha256:' + createHash('sha256').update(data).digest('hex');
const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** sha256 of a blob's uncompressed bytes (its diff ID), decompressed per media type. */
function diffIdOf(file: string, mediaType: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const done = () => resolve('sha256:' + h.digest('hex'));
    if (/zstd$/.test(mediaType)) {
      const p = spawn('zstd', ['-dc', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      p.stdout.on('data', (d: Buffer) => h.update(d));
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? done() : reject(new Error(`zstd -dc ${file}: exit ${code}`))));
    } else {
      const src = createReadStream(file);
      const s = /gzip$/.test(mediaType) ? src.pipe(createGunzip()) : src;
      src.on('error', reject);
      s.on('error', reject);
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', done);
    }
  });
}

interface TarEntry { type: string; mode: string; uid: number; gid: number; size: number; mtime: string; path: string; linkname?: string }

/** `rwsr-xr-x` to `4755`. */
function permsToOctal(p: string): string {
  let m = 0;
  const bit = (i: number, v: number) => (p[i] !== '-' ? v : 0);
  m |= bit(0, 0o400) | bit(1, 0o200) | bit(3, 0o40) | bit(4, 0o20) | bit(6, 0o4) | bit(7, 0o2);
  const x = (c: string, exec: number, special: number, set: string) =>
    (c === 'x' || c === set ? exec : 0) | (c === set || c === set.toUpperCase() ? special : 0);
  m |= x(p[2], 0o100, 0o4000, 's') | x(p[5], 0o10, 0o2000, 's') | x(p[8], 0o1, 0o1000, 't');
  return m.toString(8).padStart(4, '0');
}

const TYPES: Record<string, string> = { '-': 'file', d: 'dir', l: 'symlink', h: 'hardlink', p: 'fifo', c: 'char', b: 'block' };
const TAR_LINE = /^(.)(.{9})\s+(\d+)\/(\d+)\s+(\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s(.*)$/;

/** Lists a layer blob's entries with GNU tar (which detects gzip and zstd itself). */
async function tarEntries(file: string): Promise<TarEntry[]> {
  const out = await text('tar', ['-tv', '--numeric-owner', '--full-time', '-f', file]);
  return out.split('\n').filter(Boolean).map((line) => {
    const m = TAR_LINE.exec(line);
    if (!m) throw new Error(`unparsed tar line in ${file}: ${line}`);
    const type = TYPES[m[1]] ?? m[1];
    let path = m[7];
    let linkname: string | undefined;
    if (type === 'symlink') [path, linkname] = path.split(' -> ');
    if (type === 'hardlink') [path, linkname] = path.split(' link to ');
    path = path.replace(/^\.\//, '').replace(/\/$/, '');
    return { type, mode: permsToOctal(m[2]), uid: +m[3], gid: +m[4], size: +m[5], mtime: m[6], path, linkname };
  });
}

const TAR_LISTS = new Map<string, Promise<TarEntry[]>>();
const listLayer = (file: string) => {
  if (!TAR_LISTS.has(file)) TAR_LISTS.set(file, tarEntries(file));
  return TAR_LISTS.get(file)!;
};

/** A file's bytes as the image shows it: from the topmost layer that has it. */
async function fileFromImage(dir: string, layers: LayerFact[], path: string): Promise<Buffer> {
  for (let i = layers.length - 1; i >= 0; i--) {
    const blob = join(dir, hex(layers[i].digest));
    if ((await listLayer(blob)).some((e) => e.path === path)) return run('tar', ['-xOf', blob, path]);
  }
  throw new Error(`${path} is in no layer of ${dir}`);
}

let tmp = '';
const dirOf = (name: string) => join(tmp, 'dir', name);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'krill-images-test-'));
  await mkdir(join(tmp, 'dir'));
  // Every image as skopeo's dir: layout, byte for byte (--preserve-digests
  // fails rather than change a digest). `layered` also into an OCI layout
  // for umoci unpack.
  await Promise.all([
    ...copied.map((n) =>
      run('skopeo', ['copy', '-q', '--all', '--preserve-digests', '--src-tls-verify=false',
        `docker://${images[n].reference}`, `dir:${dirOf(n)}`])),
    images.layered
      ? run('skopeo', ['copy', '-q', '--preserve-digests', '--src-tls-verify=false',
        `docker://${images.layered.reference}`, `oci:${join(tmp, 'oci')}:layered`])
      : Promise.resolve(Buffer.alloc(0)),
  ]);
  if (images.layered) await run('umoci', ['unpack', '--image', `${join(tmp, 'oci')}:layered`, join(tmp, 'bundle')]);
}, 90_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('images.json lists every image', () => {
  for (const n of ['layered', 'user-uid', 'user-uid-gid', 'user-name', 'user-name-group', 'httpd', 'multiarch',
    'compress-gzip', 'compress-zstd', 'compress-none', 'docker-schema2']) {
    expect(images[n]).toBeDefined();
    expect(images[n].reference).toBe(`${doc.registry}/krill-test/${n}:latest`);
  }
});

describe.each(names)('%s', (name) => {
  const img = images[name];

  test('the registry serves the recorded digest and media type', async () => {
    const url = `http://${doc.registry}/v2/krill-test/${name}/manifests/latest`;
    const res = await fetch(url, { headers: { Accept: Object.values(MT).join(', ') } });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-type')).toBe(img.mediaType);
    expect(res.headers.get('docker-content-digest')).toBe(img.digest);
    expect(sha256(body)).toBe(img.digest);
    // skopeo agrees, by tag and by digest.
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${img.reference}`]);
    expect(sha256(raw)).toBe(img.digest);
    const byDigest = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${img.digestReference}`]);
    expect(sha256(byDigest)).toBe(img.digest);
  });

  if (img.mediaType === MT.ociIndex || img.mediaType === MT.dockerList) return;

  test('manifest, layers and config are as recorded', async () => {
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${img.reference}`]);
    const m = JSON.parse(raw.toString());
    expect(m.schemaVersion).toBe(2);
    expect(m.config.digest).toBe(img.configDigest);
    expect(m.config.mediaType).toBe(img.configMediaType);
    expect(m.layers.map((l: LayerFact) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })))
      .toEqual(img.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })));
    if (img.layerCount !== undefined) expect(m.layers).toHaveLength(img.layerCount);
    if (img.expectLayerMediaType) for (const l of m.layers) expect(l.mediaType).toBe(img.expectLayerMediaType);

    const cfg = JSON.parse(
      (await text('skopeo', ['inspect', '--tls-verify=false', '--raw', '--config', `docker://${img.reference}`])));
    expect(cfg.rootfs.diff_ids).toEqual(img.layers.map((l) => l.diffId));
    expect(cfg.os).toBe(img.platform.os);
    expect(cfg.architecture).toBe(img.platform.architecture);
    for (const [k, v] of Object.entries(img.expectConfig ?? {})) expect([k, cfg.config?.[k]]).toEqual([k, v]);
  });

  if (name === 'large') return;

  test('every blob matches its digest and every layer its diff ID', async () => {
    const dir = dirOf(name);
    expect(sha256(await readFile(join(dir, 'manifest.json')))).toBe(img.digest);
    expect(sha256(await readFile(join(dir, hex(img.configDigest))))).toBe(img.configDigest);
    for (const l of img.layers) {
      const blob = join(dir, hex(l.digest));
      expect(sha256(await readFile(blob))).toBe(l.digest);
      expect(await diffIdOf(blob, l.mediaType)).toBe(l.diffId);
      await expect(listLayer(blob)).resolves.not.toHaveLength(0);
    }
  });
});

describe('layered', () => {
  const img = images.layered;

  test('has at least 4 layers, each with the entries claimed (whiteouts, opaque dir, links, modes, owners)', async () => {
    expect(img.layers.length).toBeGreaterThanOrEqual(4);
    const entries = img.layerEntries ?? [];
    // Every kind the fixture promises is claimed somewhere.
    for (const t of ['whiteout', 'opaque', 'hardlink', 'symlink', 'fifo']) expect(entries.map((e) => e.type)).toContain(t);
    for (const want of entries) {
      const list = await listLayer(join(dirOf('layered'), hex(img.layers[want.layer].digest)));
      const got = list.find((e) => e.path === want.path);
      expect([want.layer, want.path, got !== undefined]).toEqual([want.layer, want.path, true]);
      const g = got!;
      const expectedType = want.type === 'whiteout' || want.type === 'opaque' ? 'file' : want.type;
      expect([want.path, g.type]).toEqual([want.path, expectedType]);
      if (want.type === 'whiteout') expect(want.path.split('/').pop()).toMatch(/^\.wh\.(?!\.wh\.)/);
      if (want.type === 'opaque') expect(want.path.split('/').pop()).toBe('.wh..wh..opq');
      if (want.mode !== undefined) expect([want.path, g.mode]).toEqual([want.path, want.mode]);
      if (want.uid !== undefined) expect([want.path, g.uid, g.gid]).toEqual([want.path, want.uid, want.gid]);
      if (want.linkname !== undefined) expect([want.path, g.linkname]).toEqual([want.path, want.linkname]);
      if (want.mtime !== undefined) expect([want.path, g.mtime]).toEqual([want.path, want.mtime.replace('T', ' ').replace(/Z$/, '')]);
    }
    // A whiteout in an upper layer hides what a lower layer added.
    const layer = async (i: number) => listLayer(join(dirOf('layered'), hex(img.layers[i].digest)));
    const whiteouts = entries.filter((e) => e.type === 'whiteout');
    for (const w of whiteouts) {
      const hidden = w.path.replace(/(^|\/)\.wh\./, '$1');
      let foundBelow = false;
      for (let i = 0; i < w.layer; i++) if ((await layer(i)).some((e) => e.path === hidden)) foundBelow = true;
      expect([hidden, foundBelow]).toEqual([hidden, true]);
    }
  });

  test('unpacked by umoci, the final tree is as claimed', async () => {
    const root = join(tmp, 'bundle', 'rootfs');
    const tree = img.tree!;
    expect(tree.present.length).toBeGreaterThan(10);
    for (const f of tree.present) {
      const p = join(root, f.path);
      const st = await lstat(p);
      const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other';
      expect([f.path, kind]).toEqual([f.path, f.type]);
      expect([f.path, st.uid, st.gid]).toEqual([f.path, f.uid, f.gid]);
      if (f.mode !== undefined) expect([f.path, (st.mode & 0o7777).toString(8).padStart(4, '0')]).toEqual([f.path, f.mode]);
      if (f.target !== undefined) expect([f.path, await readlink(p)]).toEqual([f.path, f.target]);
      if (f.size !== undefined) expect([f.path, st.size]).toEqual([f.path, f.size]);
      if (f.sha256 !== undefined) expect([f.path, createHash('sha256').update(await readFile(p)).digest('hex')]).toEqual([f.path, f.sha256]);
      if (f.mtime !== undefined) expect([f.path, st.mtime.getTime()]).toEqual([f.path, Date.parse(f.mtime)]);
    }
    for (const a of tree.absent) {
      const code = await lstat(join(root, a)).then(() => 'exists', (e: NodeJS.ErrnoException) => e.code);
      expect([a, code]).toEqual([a, 'ENOENT']);
    }
    expect(tree.hardlinks.length).toBeGreaterThan(0);
    for (const group of tree.hardlinks) {
      const sts = await Promise.all(group.map((p) => lstat(join(root, p))));
      for (const st of sts) {
        expect(st.ino).toBe(sts[0].ino);
        expect(st.nlink).toBeGreaterThanOrEqual(group.length);
      }
    }
    // The facts cover the special modes the fixture promises.
    const modes = tree.present.map((f) => f.mode);
    for (const m of ['4755', '2775', '1777']) expect(modes).toContain(m);
    expect(tree.present.some((f) => f.uid === 1234 && f.gid === 5678)).toBe(true);
  });
});

describe.each(names.filter((n) => images[n].user))('%s', (name) => {
  const img = images[name];
  const u = img.user!;

  test('USER and /etc/passwd, /etc/group give the recorded uid, gid and groups', async () => {
    expect(img.imageConfig.User).toBe(u.spec);
    const dir = dirOf(name);
    const passwd = (await fileFromImage(dir, img.layers, 'etc/passwd')).toString().trim().split('\n').map((l) => l.split(':'));
    const group = (await fileFromImage(dir, img.layers, 'etc/group')).toString().trim().split('\n').map((l) => l.split(':'));
    const [userPart, groupPart] = u.spec.split(':');
    const pw = /^\d+$/.test(userPart) ? passwd.find((p) => p[2] === userPart) : passwd.find((p) => p[0] === userPart);
    expect(pw).toBeDefined();
    const uid = Number(pw![2]);
    let gid = Number(pw![3]);
    if (groupPart !== undefined) {
      gid = /^\d+$/.test(groupPart) ? Number(groupPart) : Number(group.find((g) => g[0] === groupPart)![2]);
    }
    const supplementary = group.filter((g) => (g[3] ?? '').split(',').includes(pw![0])).map((g) => Number(g[2])).sort((a, b) => a - b);
    expect({ uid, gid, username: pw![0], homeDir: pw![5], supplementaryGroups: supplementary })
      .toEqual({ uid: u.uid, gid: u.gid, username: u.username, homeDir: u.homeDir, supplementaryGroups: u.supplementaryGroups });
  });
});

describe('httpd', () => {
  test('serves the recorded index.html with busybox httpd on port 80', async () => {
    const img = images.httpd;
    expect(img.imageConfig.Cmd).toEqual(['httpd', '-f', '-p', String(img.http!.port), '-h', '/www']);
    expect(img.imageConfig.ExposedPorts).toEqual({ [`${img.http!.port}/tcp`]: {} });
    const body = await fileFromImage(dirOf('httpd'), img.layers, 'www/index.html');
    expect(body.toString()).toBe(img.http!.body);
    expect(sha256(body)).toBe('sha256:' + img.http!.bodySha256);
  });
});

describe('multiarch', () => {
  test('is an OCI index of linux/amd64 and linux/arm64/v8, each with its /arch', async () => {
    const img = images.multiarch;
    const dir = dirOf('multiarch');
    const index = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(index.mediaType).toBe(MT.ociIndex);
    expect(index.manifests.map((d: { platform: unknown }) => d.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    expect(index.manifests.map((d: { digest: string }) => d.digest)).toEqual(img.manifests!.map((m) => m.digest));
    expect(new Set(index.manifests.map((d: { digest: string }) => d.digest)).size).toBe(2);
    for (const [i, want] of img.platforms!.entries()) {
      const d = index.manifests[i];
      const raw = await readFile(join(dir, `${hex(d.digest)}.manifest.json`));
      expect(sha256(raw)).toBe(d.digest);
      expect(raw.length).toBe(d.size);
      const m = JSON.parse(raw.toString());
      const cfg = JSON.parse(await readFile(join(dir, hex(m.config.digest)), 'utf8'));
      expect([cfg.os, cfg.architecture]).toEqual([want.os, want.architecture]);
      expect((await fileFromImage(dir, m.layers, 'arch')).toString()).toBe(want.archFile);
      // skopeo resolves the index to this instance when asked for its platform.
      const picked = JSON.parse(await text('skopeo', ['--override-arch', want.architecture,
        ...(want.variant ? ['--override-variant', want.variant] : []),
        'inspect', '--tls-verify=false', `docker://${img.reference}`]));
      expect(picked.Architecture).toBe(want.architecture);
      expect(picked.Layers).toEqual(img.manifests![i].layers.map((l) => l.digest));
    }
  });
});

describe('compression variants', () => {
  test('gzip, zstd and uncompressed layers with the same diff IDs', () => {
    const want: Record<string, string> = { 'compress-gzip': MT.ociGzip, 'compress-zstd': MT.ociZstd, 'compress-none': MT.ociTar };
    const diffIds = images['compress-gzip'].layers.map((l) => l.diffId);
    const digests = new Set<string>();
    for (const [n, mt] of Object.entries(want)) {
      expect(images[n].mediaType).toBe(MT.ociManifest);
      for (const l of images[n].layers) {
        expect([n, l.mediaType]).toEqual([n, mt]);
        digests.add(l.digest);
      }
      expect(images[n].layers.map((l) => l.diffId)).toEqual(diffIds);
    }
    // Same content, three different blobs per layer.
    expect(digests.size).toBe(3 * diffIds.length);
  });
});

describe('docker-schema2', () => {
  test('is a Docker schema 2 manifest with Docker media types', async () => {
    const m = JSON.parse(await readFile(join(dirOf('docker-schema2'), 'manifest.json'), 'utf8'));
    expect(m.mediaType).toBe(MT.dockerManifest);
    expect(m.config.mediaType).toBe(MT.dockerConfig);
    for (const l of m.layers) expect(l.mediaType).toBe(MT.dockerGzip);
  });
});
