// Resolution of every reference form, listing, records and removal, on an
// image store filled by hand (no registry).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../config/config';
import { silentLogger } from '../log/logger';
import { Store } from '../store/db';
import { sha256Digest } from './digest';
import { imageUser, ImageManager } from './manager';
import type { StoredImage } from './records';

let dir: string;
let store: Store;
let m: ImageManager;

async function addImage(name: string, refs: { ref: string; kind: 'tag' | 'digest' }[], layerNames: string[], user?: string): Promise<StoredImage> {
  const layers = [];
  for (const ln of layerNames) {
    const chainId = sha256Digest(`layer ${ln}`);
    if (!m.layers.has(chainId)) {
      const p = await m.layers.prepare(chainId);
      writeFileSync(join(p.dir, 'f'), ln);
      await p.commit({ diffId: chainId, size: 100, inodes: 2 });
    }
    layers.push({ digest: sha256Digest(`blob ${ln}`), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 50, diffId: chainId, chainId });
  }
  const config = Buffer.from(JSON.stringify({ name }));
  const id = sha256Digest(config);
  await m.content.write(id, config);
  const image: StoredImage = {
    id,
    layers,
    config: user ? { User: user } : {},
    platform: { os: 'linux', architecture: 'amd64' },
    manifestDigest: sha256Digest(`manifest ${name}`),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 100 * layers.length + config.length,
    pulledAt: 0,
  };
  m.images.save(image, refs, [id]);
  return image;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'krill-images-'));
  store = new Store(join(dir, 'krill.db'));
  const config = defaultConfig();
  config.root = dir;
  config.image.pause_image = 'registry.k8s.io/pause:3.10';
  m = await ImageManager.open({ config, store, log: silentLogger() });
});
afterEach(() => {
  m.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every reference form resolves to the image', async () => {
  const d = sha256Digest('manifest busybox');
  const img = await addImage('busybox', [{ ref: 'docker.io/library/busybox:1.36', kind: 'tag' }, { ref: `docker.io/library/busybox@${d}`, kind: 'digest' }], ['base']);
  for (const form of ['busybox:1.36', 'library/busybox:1.36', 'docker.io/library/busybox:1.36', `busybox@${d}`, `busybox:1.36@${d}`, img.id, img.id.slice(7), img.id.slice(0, 15), img.id.slice(7, 15)]) {
    expect([form, m.resolve(form)?.id]).toEqual([form, img.id]);
  }
  expect(m.resolve('busybox')).toBeUndefined(); // :latest was never pulled
  expect(m.resolve('busybox:1.35')).toBeUndefined();
  expect(m.resolve('')).toBeUndefined();
  expect(() => m.resolve('Busy:Box:')).toThrow('image.image: invalid reference format');
});

test('an ambiguous ID prefix is refused; a tag that looks like hex is a name first', async () => {
  const a = await addImage('a', [{ ref: 'docker.io/library/a:1', kind: 'tag' }], ['x']);
  const b = await addImage('b', [{ ref: 'docker.io/library/b:1', kind: 'tag' }], ['y']);
  let common = 0;
  while (a.id[7 + common] === b.id[7 + common]) common++;
  if (common > 0) expect(() => m.resolve(a.id.slice(7, 7 + common))).toThrow('matches more than one image');
  const hexName = a.id.slice(7, 13);
  const c = await addImage('c', [{ ref: `docker.io/library/${hexName}:latest`, kind: 'tag' }], ['z']);
  expect(m.resolve(hexName)?.id).toBe(c.id);
});

test('records carry what containers need: chain IDs, config, user, pinned', async () => {
  await addImage('pause', [{ ref: 'registry.k8s.io/pause:3.10', kind: 'tag' }], ['p']);
  await addImage('app', [{ ref: 'quay.io/org/app:v1', kind: 'tag' }], ['base', 'app'], 'alice:staff');
  const pause = m.resolve('registry.k8s.io/pause:3.10')!;
  const app = m.resolve('quay.io/org/app:v1')!;
  expect(pause.pinned).toBe(true);
  expect(app.pinned).toBe(false);
  expect(app.chainIds).toEqual([sha256Digest('layer base'), sha256Digest('layer app')]);
  expect(app.username).toBe('alice');
  expect(app.uid).toBeUndefined();
  expect(m.layers.diffDir(app.chainIds[0]!)).toBe(join(dir, 'layers', sha256Digest('layer base').slice(7), 'diff'));
  expect(imageUser('1001:2002')).toEqual({ uid: 1001 });
  expect(imageUser('')).toEqual({});
  expect(imageUser('0')).toEqual({ uid: 0 });
});

test('applySettings: pinned_images and a new pause image count from the next listing on', async () => {
  const d = sha256Digest('manifest app');
  await addImage('pause', [{ ref: 'registry.k8s.io/pause:3.10', kind: 'tag' }], ['p']);
  await addImage('app', [{ ref: `quay.io/org/app@${d}`, kind: 'digest' }], ['a']);
  await addImage('busybox', [{ ref: 'docker.io/library/busybox:latest', kind: 'tag' }], ['b']);
  const pinned = (): Record<string, boolean> => Object.fromEntries(m.list().map((r) => [[...r.repoTags, ...r.repoDigests][0]!, r.pinned]));
  expect(pinned()).toEqual({ 'registry.k8s.io/pause:3.10': true, [`quay.io/org/app@${d}`]: false, 'docker.io/library/busybox:latest': false });
  const settings = { ...defaultConfig().image, pause_image: 'docker.io/library/busybox', pinned_images: ['quay.io/org/*'] };
  m.applySettings(settings);
  expect(pinned()).toEqual({ 'registry.k8s.io/pause:3.10': false, [`quay.io/org/app@${d}`]: true, 'docker.io/library/busybox:latest': true });
  m.applySettings({ ...settings, pinned_images: [`quay.io/org/app@${d}`] });
  expect(m.resolve(`quay.io/org/app@${d}`)!.pinned).toBe(true);
});

test('a tag moves to the newer image; the older one stays, untagged', async () => {
  const old = await addImage('v1', [{ ref: 'docker.io/library/app:latest', kind: 'tag' }], ['a']);
  const cur = await addImage('v2', [{ ref: 'docker.io/library/app:latest', kind: 'tag' }], ['b']);
  expect(m.resolve('app')?.id).toBe(cur.id);
  expect(m.resolve(old.id)?.repoTags).toEqual([]);
});

test('listing by repository, reference or ID', async () => {
  await addImage('one', [{ ref: 'docker.io/library/app:1', kind: 'tag' }], ['a']);
  await addImage('two', [{ ref: 'docker.io/library/app:2', kind: 'tag' }], ['b']);
  await addImage('other', [{ ref: 'docker.io/library/other:1', kind: 'tag' }], ['c']);
  expect(m.list().length).toBe(3);
  expect(m.list('app').map((i) => i.repoTags[0])).toEqual(['docker.io/library/app:1', 'docker.io/library/app:2']);
  expect(m.list('app:2').map((i) => i.repoTags[0])).toEqual(['docker.io/library/app:2']);
  expect(m.list('nothing')).toEqual([]);
});

test('remove drops the image and collects what nothing else uses; holders keep layers', async () => {
  const a = await addImage('a', [{ ref: 'docker.io/library/a:1', kind: 'tag' }], ['shared', 'only-a']);
  const b = await addImage('b', [{ ref: 'docker.io/library/b:1', kind: 'tag' }], ['shared', 'only-b']);
  m.layers.acquire('container-x', [sha256Digest('layer only-b')]);
  expect(await m.remove('a:1')).toBe(true);
  expect(m.layers.has(sha256Digest('layer shared'))).toBe(true);
  expect(m.layers.has(sha256Digest('layer only-a'))).toBe(false);
  expect(await m.content.has(a.id)).toBe(false);
  expect(await m.remove(b.id)).toBe(true);
  expect(m.layers.has(sha256Digest('layer shared'))).toBe(false);
  expect(m.layers.has(sha256Digest('layer only-b'))).toBe(true); // a container still uses it
  expect(await m.remove(b.id)).toBe(false);
  await m.releaseLayers('container-x');
  expect(m.layers.list()).toEqual([]);
  expect(await m.content.list()).toEqual([]);
});
