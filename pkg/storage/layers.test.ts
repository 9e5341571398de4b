import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { silentLogger } from '../log/logger';
import { Store } from '../store/db';
import { LayerStore } from './layers';
import { shortLinkName } from './overlay';

const digest = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-layers-'));
  store = new Store(join(dir, 'krill.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function addLayer(layers: LayerStore, name: string): Promise<string> {
  const chainId = digest(name);
  const p = await layers.prepare(chainId);
  writeFileSync(join(p.dir, 'file'), name);
  await p.commit({ diffId: chainId, size: name.length, inodes: 2 });
  return chainId;
}

test('a layer is visible under its chain ID only once committed', async () => {
  const layers = await LayerStore.open(store, join(dir, 'layers'), silentLogger());
  const id = digest('a');
  const p = await layers.prepare(id);
  writeFileSync(join(p.dir, 'x'), 'x');
  expect(layers.has(id)).toBe(false);
  expect(existsSync(layers.diffDir(id))).toBe(false);
  await p.commit({ diffId: id, size: 1, inodes: 2 });
  expect(layers.has(id)).toBe(true);
  expect(readdirSync(layers.diffDir(id))).toEqual(['x']);
  expect(layers.usage()).toEqual({ bytes: 1, inodes: 2 });
  await p.abort(); // after commit: nothing happens
  expect(layers.has(id)).toBe(true);
});

test('an aborted unpack leaves nothing', async () => {
  const layers = await LayerStore.open(store, join(dir, 'layers'), silentLogger());
  const p = await layers.prepare(digest('b'));
  writeFileSync(join(p.dir, 'x'), 'x');
  await p.abort();
  expect(readdirSync(join(dir, 'layers'))).toEqual([]);
});

test('a second commit of the same layer keeps the first', async () => {
  const layers = await LayerStore.open(store, join(dir, 'layers'), silentLogger());
  const id = digest('c');
  const p1 = await layers.prepare(id);
  const p2 = await layers.prepare(id);
  writeFileSync(join(p1.dir, 'one'), '1');
  writeFileSync(join(p2.dir, 'two'), '2');
  await Promise.all([p1.commit({ diffId: id, size: 1, inodes: 2 }), p2.commit({ diffId: id, size: 1, inodes: 2 })]);
  expect(readdirSync(layers.diffDir(id))).toEqual(['one']);
  expect(readdirSync(join(dir, 'layers'))).toEqual([id.slice(7)]);
});

test('gc removes what nothing uses: images (isUsed), holders and leases keep layers', async () => {
  const layers = await LayerStore.open(store, join(dir, 'layers'), silentLogger());
  const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((n) => addLayer(layers, n)));
  layers.acquire('container-1', [b!]);
  const release = layers.lease([c!]);
  const removed = await layers.gc((id) => id === a);
  expect(removed).toEqual([d]);
  expect(layers.holders(b!)).toEqual(['container-1']);
  layers.release('container-1');
  layers.release('container-1');
  release();
  expect((await layers.gc(() => false)).sort()).toEqual([a, b, c].sort());
  expect(readdirSync(join(dir, 'layers'))).toEqual([]);
});

test('a collected layer takes its overlay short link with it; at open, links to nothing are removed', async () => {
  const layersDir = join(dir, 'layers');
  const layers = await LayerStore.open(store, layersDir, silentLogger());
  const [a, b] = await Promise.all(['a', 'b'].map((n) => addLayer(layers, n)));
  mkdirSync(join(layersDir, 'l'));
  for (const id of [a!, b!]) symlinkSync(layers.diffDir(id), join(layersDir, 'l', shortLinkName(layers.diffDir(id))));
  symlinkSync(join(dir, 'gone-long-ago'), join(layersDir, 'l', 'deadbeef0000'));
  expect(await layers.gc((id) => id === b)).toEqual([a]);
  expect(readdirSync(join(layersDir, 'l')).sort()).toEqual([shortLinkName(layers.diffDir(b!)), 'deadbeef0000'].sort());
  await LayerStore.open(store, layersDir, silentLogger());
  expect(readdirSync(join(layersDir, 'l'))).toEqual([shortLinkName(layers.diffDir(b!))]);
});

test('acquire refuses unknown layers and changes nothing then', async () => {
  const layers = await LayerStore.open(store, join(dir, 'layers'), silentLogger());
  const a = await addLayer(layers, 'a');
  expect(() => layers.acquire('c1', [a, digest('missing')])).toThrow('is not in the layer store');
  expect(layers.holders(a)).toEqual([]);
});

test('reconcile after a crash: temporary and trash directories go, unrecorded layers go, lost layers are forgotten', async () => {
  const layersDir = join(dir, 'layers');
  const first = await LayerStore.open(store, layersDir, silentLogger());
  const kept = await addLayer(first, 'kept');
  const lost = await addLayer(first, 'lost');
  rmSync(join(layersDir, lost.slice(7)), { recursive: true });
  mkdirSync(join(layersDir, 'tmp-0123-abcd', 'diff'), { recursive: true });
  mkdirSync(join(layersDir, 'trash-0123-abcd'), { recursive: true });
  mkdirSync(join(layersDir, digest('orphan').slice(7), 'diff'), { recursive: true });
  mkdirSync(join(layersDir, 'l'), { recursive: true }); // someone else's (overlay short links): left alone
  const again = await LayerStore.open(store, layersDir, silentLogger());
  expect(again.list().map((l) => l.chainId)).toEqual([kept]);
  expect(readdirSync(layersDir).sort()).toEqual([kept.slice(7), 'l'].sort());
});

test('invalid chain IDs are refused', async () => {
  const layers = await LayerStore.open(store, join(dir, 'layers'), silentLogger());
  expect(() => layers.diffDir('sha256:../../etc')).toThrow('invalid chain ID');
  expect(() => layers.diffDir('abc')).toThrow('invalid chain ID');
});
