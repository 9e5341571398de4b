// A registry that misbehaves or serves hostile layers: every such pull fails
// with a message that says what was wrong, and leaves no blob, layer, image
// record or temporary file behind, and nothing outside the layer directory.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import { grpc } from '../pkg/criclient/client';
import { buildGlobalHeader, buildTar } from '../pkg/storage/tar_build';
import type { Krilld } from './harness/krilld';
import { testBaseDir } from './harness/paths';
import { contentBlobs, FakeRegistry, ingestFiles, layerDirs, pullReq, startImageKrilld } from './image_helpers';

let reg: FakeRegistry;
let k: Krilld;
const good = buildTar([
  { name: 'bin/', type: 'dir' },
  { name: 'bin/tool', data: 'a tool', mode: 0o755 },
]);

beforeAll(async () => {
  reg = new FakeRegistry();
  await reg.start();
  k = await startImageKrilld();
});
afterAll(async () => {
  await k.cleanup();
  await reg.close();
});

async function expectCleanFailure(reference: string, message: RegExp | string, krilld: Krilld = k): Promise<{ code: number; details: string }> {
  const err = await krilld.client.image.pullImage(pullReq(reference)).then(
    () => undefined,
    (e: unknown) => e as { code: number; details: string },
  );
  expect(err).toBeDefined();
  expect(err!.details).toMatch(message);
  expect(err!.code).not.toBe(grpc.status.OK);
  expect(layerDirs(krilld)).toEqual({ layers: [], leftovers: [] });
  expect(contentBlobs(krilld)).toEqual([]);
  expect(ingestFiles(krilld)).toEqual([]);
  expect((await krilld.client.image.listImages({ filter: undefined })).images).toEqual([]);
  return err!;
}

test('a good image from the fake registry pulls (the fixture works)', async () => {
  const img = reg.addImage('ok/app', 'v1', [good]);
  await expect(k.client.image.pullImage(pullReq(img.reference))).resolves.toEqual({ imageRef: img.configDigest });
  await k.client.image.removeImage({ image: { image: img.configDigest, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
  expect(layerDirs(k).layers).toEqual([]);
});

test('a tampered blob (same size, other bytes)', async () => {
  const evil = buildTar([{ name: 'x', data: 'x'.repeat(4000) }]);
  const img = reg.addImage('bad/tampered', 'v1', [good, evil]);
  const real = reg.blobs.get(img.layerDigests[1]!)!;
  const other = Buffer.from(real);
  other[other.length - 10] ^= 0xff;
  reg.serveInstead.set(img.layerDigests[1]!, other);
  await expectCleanFailure(img.reference, new RegExp(`layer ${img.layerDigests[1]}: (content does not match its digest|incorrect data check|invalid)`));
});

test('a blob longer than its descriptor, with and without Content-Length', async () => {
  const img = reg.addImage('bad/long', 'v1', [good, buildTar([{ name: 'y', data: 'y' }])]);
  const real = reg.blobs.get(img.layerDigests[1]!)!;
  reg.serveInstead.set(img.layerDigests[1]!, Buffer.concat([real, randomBytes(5000)]));
  await expectCleanFailure(img.reference, `layer ${img.layerDigests[1]}: the registry announces ${real.length + 5000} bytes, its descriptor declares ${real.length}`);
  reg.chunked.add(img.layerDigests[1]!);
  await expectCleanFailure(img.reference, `layer ${img.layerDigests[1]}: the registry sent more than the ${real.length} bytes its descriptor declares`);
});

test('a config that does not match its digest', async () => {
  const img = reg.addImage('bad/config', 'v1', [good]);
  const real = reg.blobs.get(img.configDigest)!;
  reg.serveInstead.set(img.configDigest, Buffer.from(real.toString().replace('"sh"', '"zz"')));
  await expectCleanFailure(img.reference, `config of ${reg.addr}/bad/config ${img.configDigest}: content does not match its digest`);
});

test('a layer whose content does not match the diff ID of the config', async () => {
  const img = reg.addImage('bad/diffid', 'v1', [good], { diffIds: [`sha256:${'0'.repeat(64)}`] });
  await expectCleanFailure(img.reference, `its uncompressed content hashes to sha256:`);
});

test.each([
  ['path traversal with ..', [{ name: '../escaped.txt', data: 'x' }], '"../escaped.txt": path contains ".."'],
  ['a deeper traversal', [{ name: 'a/../../escaped.txt', data: 'x' }], 'path contains ".."'],
  ['an absolute path', [{ name: '/etc/krill-absolute', data: 'x' }], '"/etc/krill-absolute": absolute path'],
  ['a hard link to outside', [{ name: 'pw', type: 'link' as const, linkname: '../../../../etc/passwd' }], '"pw": path contains ".."'],
  ['a hard link to an absolute path', [{ name: 'pw', type: 'link' as const, linkname: '/etc/passwd' }], '"pw": absolute path'],
  ['a hard link to nothing in the layer', [{ name: 'pw', type: 'link' as const, linkname: 'etc/passwd' }], 'which is not an entry of this layer'],
])('%s', async (_name, entries, message) => {
  const img = reg.addImage(`bad/entry-${randomBytes(3).toString('hex')}`, 'v1', [good, buildTar(entries)]);
  await expectCleanFailure(img.reference, message);
});

test('a symlink escape: a file written through a symlink to outside', async () => {
  const outside = join(testBaseDir(), `escape-target-${randomBytes(3).toString('hex')}`);
  mkdirSync(outside);
  try {
    await expectNoEscapeThroughSymlinks(outside);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

async function expectNoEscapeThroughSymlinks(outside: string): Promise<void> {
  const img = reg.addImage('bad/symlink', 'v1', [
    good,
    buildTar([
      { name: 'link', type: 'symlink', linkname: outside },
      { name: 'link/pwned', data: 'gotcha' },
    ]),
  ]);
  await expectCleanFailure(img.reference, '"link/pwned": path passes through the symlink "link"');
  expect(readdirSync(outside)).toEqual([]);
  const rel = reg.addImage('bad/symlink-rel', 'v1', [
    buildTar([
      { name: 'up', type: 'symlink', linkname: '../../../../../../..' },
      { name: 'up/tmp/pwned', data: 'gotcha' },
    ]),
  ]);
  await expectCleanFailure(rel.reference, 'path passes through the symlink "up"');
  expect(existsSync('/tmp/pwned')).toBe(false);
}

test('a Docker schema 1 manifest is refused with a clear error', async () => {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'old/app', tag: 'v1', fsLayers: [], history: [] }));
  reg.manifests.set('old/app:v1', { body, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
  await expectCleanFailure(`${reg.addr}/old/app:v1`, 'is a Docker schema 1 manifest, which Krill does not support');
});

test('an index without this platform names what it offers', async () => {
  const img = reg.addImage('multi/arm', 'single', [good]);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: reg.manifests.get(`multi/arm:single`)!.body.length, platform: { os: 'linux', architecture: 'riscv64' } }],
    }),
  );
  reg.manifests.set('multi/arm:v1', { body: index, mediaType: 'application/vnd.oci.image.index.v1+json' });
  await expectCleanFailure(`${reg.addr}/multi/arm:v1`, 'has no image for linux/amd64 (it offers linux/riscv64)');
});

test('a layer that is not a tar archive', async () => {
  const img = reg.addImage('bad/notar', 'v1', [randomBytes(3000)]);
  await expectCleanFailure(img.reference, /layer sha256:[a-f0-9]{64}: bad header checksum at offset 0/);
});

describe('layers beyond the unpack bounds fail with ResourceExhausted, naming the layer, and leave nothing', () => {
  const files = (n: number): Buffer => buildTar(Array.from({ length: n }, (_, i) => ({ name: `d${i % 10}/f${i}`, data: '' })));

  test('more entries than image.max_layer_entries', async () => {
    const k2 = await startImageKrilld('max_layer_entries = 1000\n');
    try {
      // Exactly 1000 entries (the 10 directories the files need are made implicitly, they are no entries).
      const fits = reg.addImage('bounds/entries-ok', 'v1', [files(1000)]);
      await expect(k2.client.image.pullImage(pullReq(fits.reference))).resolves.toEqual({ imageRef: fits.configDigest });
      await k2.client.image.removeImage({ image: { image: fits.configDigest, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
      const img = reg.addImage('bounds/entries', 'v1', [good, files(1001)]);
      const err = await expectCleanFailure(img.reference, `pulling ${img.reference} failed: layer ${img.layerDigests[1]}: has more than 1000 entries (image.max_layer_entries)`, k2);
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      await k2.cleanup();
    }
  });

  test('more than 16 global PAX headers', async () => {
    const globals = Array.from({ length: 17 }, (_, i) => buildGlobalHeader({ comment: `header ${i}` }));
    const img = reg.addImage('bounds/pax', 'v1', [good, Buffer.concat([...globals, buildTar([{ name: 'x', data: 'x' }])])]);
    const err = await expectCleanFailure(img.reference, `layer ${img.layerDigests[1]}: has more than 16 global PAX headers`);
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  test('a zstd frame that declares a 1 GiB window', async () => {
    const tar = buildTar([{ name: 'big-window', data: 'z'.repeat(10_000) }]);
    const data = await zstdWithWindowLog(tar, 30);
    // The frame header declares the window: Window_Descriptor exponent 20 → 2^(10+20).
    expect(data[5]! >> 3).toBe(20);
    const img = reg.addImage('bounds/zstd', 'v1', [tar], { encodeLayer: () => ({ data, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }) });
    const err = await expectCleanFailure(img.reference, `layer ${img.layerDigests[0]}: has zstd data that needs a window larger than 2^27 bytes (image.zstd_max_window_log is 27)`);
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The same bytes pull where the configuration allows such a window.
    const k2 = await startImageKrilld('zstd_max_window_log = 30\n');
    try {
      await expect(k2.client.image.pullImage(pullReq(img.reference))).resolves.toEqual({ imageRef: img.configDigest });
    } finally {
      await k2.cleanup();
    }
  });
});

/** zstd-compresses `data` as a stream, so that the frame declares a window of 2^windowLog bytes (a one-shot compress would fit it to the data). */
async function zstdWithWindowLog(data: Buffer, windowLog: number): Promise<Buffer> {
  const z = createZstdCompress({ params: { [zlibConstants.ZSTD_c_windowLog]: windowLog } });
  const parts: Buffer[] = [];
  z.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => {
    z.once('end', resolve);
    z.once('error', reject);
  });
  z.end(data);
  await done;
  return Buffer.concat(parts);
}
