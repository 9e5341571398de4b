// The image service against the local registry of hack/registry: every test
// image pulls and its unpacked tree matches what the image builder put in;
// every reference form; ListImages / ImageStatus / RemoveImage / ImageFsInfo;
// shared layers; mirrors; crictl.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { grpc } from '../pkg/criclient/client';
import type { Krilld } from './harness/krilld';
import { CRICTL, crictlTest } from './harness/crictl';
import {
  closedPort,
  contentBlobs,
  layerDirs,
  layerPaths,
  pullReq,
  REGISTRY,
  spec,
  startImageKrilld,
  startProxy,
  testImages,
  treeDifferences,
  withMergedTree,
  type Proxy,
} from './image_helpers';

const images = testImages();

describe('pulling the test images', () => {
  let k: Krilld;
  beforeAll(async () => {
    k = await startImageKrilld(`[image.registries."${REGISTRY}"]\ninsecure = true\n`);
  });
  afterAll(async () => k.cleanup());

  test('every test image pulls and answers its config digest as the image ref', async () => {
    for (const [name, facts] of Object.entries(images)) {
      if (name === 'large') continue;
      const r = await k.client.image.pullImage(pullReq(facts.reference));
      const expected = facts.configDigest ?? facts.manifests!.find((m) => m.indexPlatform.architecture === 'amd64')!.configDigest;
      expect([name, r.imageRef]).toEqual([name, expected]);
    }
  });

  test('the layered image unpacks to exactly the tree the builder made', async () => {
    const facts = images.layered!;
    const paths = await layerPaths(k, facts.reference);
    expect(paths).toHaveLength(facts.layers!.length);
    const diffs = await withMergedTree(paths, (root) => treeDifferences(root, facts.tree!));
    expect(diffs).toEqual([]);
  });

  test('whiteouts are overlay character devices and opaque directories carry the xattr', async () => {
    const facts = images.layered!;
    const paths = await layerPaths(k, facts.reference);
    for (const e of facts.layerEntries!) {
      const dir = paths[e.layer]!;
      if (e.type === 'whiteout') {
        const target = join(dir, e.path.replace(/(^|\/)\.wh\.([^/]+)$/, '$1$2'));
        const st = lstatSync(target);
        expect([e.path, st.isCharacterDevice(), st.rdev]).toEqual([e.path, true, 0]);
      } else if (e.type === 'opaque') {
        const d = join(dir, e.path.replace(/\/?\.wh\.\.wh\.\.opq$/, ''));
        expect(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', d], { encoding: 'utf8' })).toBe('y');
        expect(existsSync(join(dir, e.path))).toBe(false);
      } else {
        const st = lstatSync(join(dir, e.path));
        if (e.mode) expect([e.path, (st.mode & 0o7777).toString(8).padStart(4, '0')]).toEqual([e.path, e.mode]);
        if (e.uid !== undefined) expect([e.path, st.uid, st.gid]).toEqual([e.path, e.uid, e.gid]);
      }
    }
  });

  test('the config is recorded as containers need it (ImageStatus verbose)', async () => {
    for (const name of ['layered', 'httpd', 'docker-schema2']) {
      const facts = images[name]!;
      const s = await k.client.image.imageStatus({ image: spec(facts.reference), verbose: true });
      const info = JSON.parse(s.info.info!) as { imageSpec: { config: Record<string, unknown> }; chainIDs: string[]; layers: { diffID: string }[] };
      for (const [key, value] of Object.entries(facts.expectConfig ?? {})) expect([name, key, info.imageSpec.config[key]]).toEqual([name, key, value]);
      expect(info.layers.map((l) => l.diffID)).toEqual(facts.layers!.map((l) => l.diffId));
      expect(info.chainIDs).toHaveLength(facts.layers!.length);
    }
  });

  test('the image user is reported as uid or username', async () => {
    const want: Record<string, { uid?: bigint; username: string }> = {
      'user-uid': { uid: 1001n, username: '' },
      'user-uid-gid': { uid: 1001n, username: '' },
      'user-name': { username: 'alice' },
      'user-name-group': { username: 'alice' },
    };
    for (const [name, w] of Object.entries(want)) {
      const s = await k.client.image.imageStatus({ image: spec(images[name]!.reference), verbose: false });
      expect([name, s.image!.uid?.value, s.image!.username]).toEqual([name, w.uid, w.username]);
    }
  });

  test('a multi-arch index: the amd64 image is chosen', async () => {
    const facts = images.multiarch!;
    const paths = await layerPaths(k, facts.reference);
    const arch = await withMergedTree(paths, (root) => readFileSync(join(root, 'arch'), 'utf8'));
    expect(arch).toBe(facts.platforms!.find((p) => p.architecture === 'amd64')!.archFile);
    const s = await k.client.image.imageStatus({ image: spec(facts.reference), verbose: false });
    expect(s.image!.repoDigests).toEqual([facts.digestReference]);
  });

  test('gzip, zstd and plain layers give one image with the same layers', async () => {
    const ids = new Set<string>();
    for (const c of ['gzip', 'zstd', 'none']) {
      const s = await k.client.image.imageStatus({ image: spec(images[`compress-${c}`]!.reference), verbose: false });
      ids.add(s.image!.id);
    }
    expect(ids.size).toBe(1);
    const s = await k.client.image.imageStatus({ image: spec(images['compress-gzip']!.reference), verbose: false });
    expect([...s.image!.repoTags].sort()).toEqual(['gzip', 'none', 'zstd'].map((c) => images[`compress-${c}`]!.reference).sort());
  });

  test('the httpd page and the docker schema 2 image unpack', async () => {
    const h = images.httpd!;
    const page = await withMergedTree(await layerPaths(k, h.reference), (root) => readFileSync(join(root, 'www/index.html'), 'utf8'));
    expect(page).toBe(h.http!.body);
    const d = images['docker-schema2']!;
    const hello = await withMergedTree(await layerPaths(k, d.reference), (root) => existsSync(join(root, 'hello.txt')));
    expect(hello).toBe(true);
  });

  test('ImageStatus answers for tag, digest, tag+digest, full ID, ID without sha256: and an ID prefix', async () => {
    const facts = images.httpd!;
    const byTag = await k.client.image.imageStatus({ image: spec(facts.reference), verbose: false });
    const id = byTag.image!.id;
    expect(byTag.image!.repoTags).toEqual([facts.reference]);
    expect(byTag.image!.repoDigests).toEqual([facts.digestReference]);
    expect(byTag.image!.size).toBeGreaterThan(0n);
    for (const form of [facts.digestReference, `${facts.reference}@${facts.digest}`, id, id.slice(7), id.slice(0, 20), id.slice(7, 19)]) {
      const s = await k.client.image.imageStatus({ image: spec(form), verbose: false });
      expect([form, s.image]).toEqual([form, byTag.image]);
    }
  });

  test('an unknown image has no status; a malformed reference is InvalidArgument naming it', async () => {
    const none = await k.client.image.imageStatus({ image: spec(`${REGISTRY}/krill-test/none:latest`), verbose: false });
    expect(none.image).toBeUndefined();
    await expect(k.client.image.imageStatus({ image: spec('Bad:Ref:'), verbose: false })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('"Bad:Ref:"'),
    });
    await expect(k.client.image.pullImage(pullReq('krill-test/UPPER'))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('image.image') });
    await expect(k.client.image.pullImage(pullReq(''))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'image.image is required' });
    await expect(k.client.image.removeImage({ image: spec('') })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(k.client.image.pullImage(pullReq(images.httpd!.reference, { auth: 'not base64 user:pass' }))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('auth.auth'),
    });
  });

  test('a missing tag is NotFound', async () => {
    await expect(k.client.image.pullImage(pullReq(`${REGISTRY}/krill-test/layered:no-such-tag`))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('ListImages lists all, or what the filter names', async () => {
    const all = await k.client.image.listImages({ filter: undefined });
    const tags = all.images.flatMap((i) => i.repoTags);
    for (const [name, f] of Object.entries(images)) if (name !== 'large') expect(tags).toContain(f.reference);
    const one = await k.client.image.listImages({ filter: { image: spec(images.layered!.reference) } });
    expect(one.images.map((i) => i.repoTags)).toEqual([[images.layered!.reference]]);
    const repo = await k.client.image.listImages({ filter: { image: spec(images.layered!.repository) } });
    expect(repo.images).toHaveLength(1);
    const none = await k.client.image.listImages({ filter: { image: spec(`${REGISTRY}/krill-test/none`) } });
    expect(none.images).toEqual([]);
  });

  test('pulling a present image again fetches only its manifest', async () => {
    const proxy = await startProxy(REGISTRY);
    const k2 = await startImageKrilld(`[image.registries."${REGISTRY}"]\nmirrors = ["${proxy.url}"]\nmirror_only = true\n`);
    try {
      await k2.client.image.pullImage(pullReq(images.layered!.reference));
      const first = proxy.requests.length;
      await k2.client.image.pullImage(pullReq(images.layered!.reference));
      const again = proxy.requests.slice(first).map((r) => r.path);
      expect(again).toEqual([`/v2/krill-test/layered/manifests/latest`]);
    } finally {
      await k2.cleanup();
      await proxy.close();
    }
  });
});

describe('removal and shared layers', () => {
  let k: Krilld;
  beforeAll(async () => {
    k = await startImageKrilld();
  });
  afterAll(async () => k.cleanup());

  const used = async (): Promise<bigint> => (await k.client.image.imageFsInfo({})).imageFilesystems[0]!.usedBytes!.value;

  test('RemoveImage of one of two images sharing layers keeps the shared ones; removing the second frees them', async () => {
    const a = images['user-uid']!;
    const b = images.httpd!;
    const shared = a.layers![0]!.diffId;
    expect(b.layers![0]!.diffId).toBe(shared);
    const empty = await used();
    expect(empty).toBe(0n);
    await k.client.image.pullImage(pullReq(a.reference));
    const afterA = await used();
    await k.client.image.pullImage(pullReq(b.reference));
    const afterB = await used();
    expect(afterB).toBeGreaterThan(afterA);
    // The base layer is stored once: the second image adds far less than the first.
    expect(afterB - afterA).toBeLessThan(afterA / 10n);
    expect(layerDirs(k).layers).toHaveLength(3);

    await k.client.image.removeImage({ image: spec(a.reference) });
    expect(layerDirs(k).layers).toHaveLength(2);
    expect(existsSync(join(k.root, 'layers', shared.slice(7), 'diff', 'bin', 'busybox'))).toBe(true);
    const afterRemoveA = await used();
    expect(afterRemoveA).toBeLessThan(afterB);
    expect(afterRemoveA).toBeGreaterThan(afterA / 2n);

    await k.client.image.removeImage({ image: spec(b.reference) });
    expect(layerDirs(k)).toEqual({ layers: [], leftovers: [] });
    expect(contentBlobs(k)).toEqual([]);
    expect(await used()).toBe(0n);
  });

  test('RemoveImage by ID removes every name of the image; removing again is fine', async () => {
    for (const c of ['gzip', 'zstd']) await k.client.image.pullImage(pullReq(images[`compress-${c}`]!.reference));
    const s = await k.client.image.imageStatus({ image: spec(images['compress-gzip']!.reference), verbose: false });
    expect(s.image!.repoTags).toHaveLength(2);
    await k.client.image.removeImage({ image: spec(s.image!.id) });
    for (const c of ['gzip', 'zstd']) {
      expect((await k.client.image.imageStatus({ image: spec(images[`compress-${c}`]!.reference), verbose: false })).image).toBeUndefined();
    }
    await expect(k.client.image.removeImage({ image: spec(s.image!.id) })).resolves.toEqual({});
    await expect(k.client.image.removeImage({ image: spec(`${REGISTRY}/krill-test/never:pulled`) })).resolves.toEqual({});
    expect(layerDirs(k).layers).toEqual([]);
  });

  test('the pause image is pinned', async () => {
    const k2 = await startImageKrilld(`pause_image = "${images.httpd!.reference}"\n`);
    try {
      await k2.client.image.pullImage(pullReq(images.httpd!.reference));
      await k2.client.image.pullImage(pullReq(images['user-uid']!.reference));
      const list = await k2.client.image.listImages({ filter: undefined });
      const pinned = Object.fromEntries(list.images.map((i) => [i.repoTags[0], i.pinned]));
      expect(pinned).toEqual({ [images.httpd!.reference]: true, [images['user-uid']!.reference]: false });
    } finally {
      await k2.cleanup();
    }
  });
});

describe('mirrors', () => {
  let proxy: Proxy;
  let k: Krilld;
  let down: number;
  beforeAll(async () => {
    proxy = await startProxy(REGISTRY);
    down = await closedPort();
    // docker.io served by the local registry: short names normalize to docker.io/krill-test/...
    k = await startImageKrilld(`[image.registries."docker.io"]\nmirrors = ["http://127.0.0.1:${down}", "${proxy.url}"]\nmirror_only = true\n`);
  });
  afterAll(async () => {
    await k.cleanup();
    await proxy.close();
  });

  test('a short name pulls through the mirrors, a mirror that is down falls back to the next', async () => {
    const id = (await k.client.image.pullImage(pullReq('krill-test/httpd'))).imageRef;
    expect(id).toBe(images.httpd!.configDigest);
    const s = await k.client.image.imageStatus({ image: spec('krill-test/httpd'), verbose: false });
    expect(s.image!.repoTags).toEqual(['docker.io/krill-test/httpd:latest']);
    expect(s.image!.repoDigests).toEqual([`docker.io/krill-test/httpd@${images.httpd!.digest}`]);
    expect(proxy.requests.some((r) => r.path === '/v2/krill-test/httpd/manifests/latest')).toBe(true);
    for (const form of ['docker.io/krill-test/httpd:latest', 'docker.io/krill-test/httpd', 'index.docker.io/krill-test/httpd:latest']) {
      expect([form, (await k.client.image.imageStatus({ image: spec(form), verbose: false })).image?.id]).toEqual([form, id]);
    }
  });

  test('mirror-only: when no mirror has the image nothing else is asked and the pull fails', async () => {
    await expect(k.client.image.pullImage(pullReq('library/busybox:none'))).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining(`127.0.0.1:${down}`),
    });
    await expect(k.client.image.pullImage(pullReq('library/busybox:none'))).rejects.toMatchObject({ details: expect.not.stringContaining('registry-1.docker.io') });
  });
});

describe('crictl', () => {
  let k: Krilld;
  beforeAll(async () => {
    k = await startImageKrilld();
  });
  afterAll(async () => k.cleanup());
  const crictl = (...args: string[]): string => {
    const r = spawnSync(CRICTL, ['--runtime-endpoint', `unix://${k.socket}`, '--image-endpoint', `unix://${k.socket}`, '--timeout', '60s', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`crictl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const maybe = crictlTest;

  maybe('pull, images, inspecti, imagefsinfo, rmi', () => {
    const ref = images.httpd!.reference;
    expect(crictl('pull', ref)).toContain(images.httpd!.configDigest!);
    const table = crictl('images', '--digests');
    expect(table).toContain(`${images.httpd!.repository}`);
    expect(table).toContain('latest');
    const ids = crictl('images', '-q').trim().split('\n');
    expect(ids).toEqual([images.httpd!.configDigest]);
    const inspect = JSON.parse(crictl('inspecti', ref)) as { status: { id: string; repoTags: string[] }; info: { imageSpec: { config: { Cmd: string[] } }; chainIDs: string[] } };
    expect(inspect.status.id).toBe(images.httpd!.configDigest);
    expect(inspect.status.repoTags).toEqual([ref]);
    expect(inspect.info.imageSpec.config.Cmd).toEqual(['httpd', '-f', '-p', '80', '-h', '/www']);
    const fs = JSON.parse(crictl('imagefsinfo')) as { status: { imageFilesystems: { usedBytes: { value: string }; fsId: { mountpoint: string } }[] } };
    expect(Number(fs.status.imageFilesystems[0]!.usedBytes.value)).toBeGreaterThan(1_000_000);
    expect(fs.status.imageFilesystems[0]!.fsId.mountpoint).toBe(join(k.root, 'layers'));
    expect(crictl('rmi', ref)).toContain('Deleted');
    expect(crictl('images', '-q').trim()).toBe('');
  });
});
