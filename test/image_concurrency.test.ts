// Pulls under pressure, behind a proxy of the local registry that counts,
// slows down, stalls or fails requests: shared downloads, retries,
// cancellation, the no-progress timeout, progress logs, and kill -9 of
// krilld in the middle of a pull.
import { grpc } from '../pkg/criclient/client';
import type { Krilld } from './harness/krilld';
import {
  blobGets,
  contentBlobs,
  ingestFiles,
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
  type ProxyOptions,
} from './image_helpers';

const images = testImages();
const layered = images.layered!;
const big = layered.layers![0]!; // busybox, ~1 MB compressed

async function setUp(opts: ProxyOptions, extra = ''): Promise<{ proxy: Proxy; k: Krilld }> {
  const proxy = await startProxy(REGISTRY, opts);
  const k = await startImageKrilld(`${extra}\n[image.registries."${REGISTRY}"]\nmirrors = ["${proxy.url}"]\nmirror_only = true\n`);
  return { proxy, k };
}

async function tearDown(s: { proxy: Proxy; k: Krilld }): Promise<void> {
  await s.k.cleanup();
  await s.proxy.close();
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('five concurrent pulls of one image download each blob once', async () => {
  // Slow enough (about 2 s) that all five calls, sent together, arrive while the first is in flight.
  const s = await setUp({ throttleBytesPer50ms: 32 * 1024 });
  try {
    const ids = await Promise.all(Array.from({ length: 5 }, () => s.k.client.image.pullImage(pullReq(layered.reference))));
    // The logger writes asynchronously: each call's join line comes before its "PullImage done" line.
    await waitFor('the five PullImage lines', () => s.k.logs().filter((l) => l.msg === 'PullImage done').length === 5);
    expect(new Set(ids.map((r) => r.imageRef))).toEqual(new Set([layered.configDigest]));
    const gets = blobGets(s.proxy);
    expect([...gets.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(gets.keys())).toEqual(new Set([layered.configDigest, ...layered.layers!.map((l) => l.digest)]));
    expect(s.proxy.requests.filter((r) => r.path.includes('/manifests/'))).toHaveLength(1);
    expect(s.k.logs().filter((l) => l.msg === 'joining a pull of the same image in flight')).toHaveLength(4);
  } finally {
    await tearDown(s);
  }
});

test('pulls of different images run together and share the layer they have in common', async () => {
  const s = await setUp({ throttleBytesPer50ms: 256 * 1024 });
  try {
    const names = ['httpd', 'user-uid', 'docker-schema2'];
    const ids = await Promise.all(names.map((n) => s.k.client.image.pullImage(pullReq(images[n]!.reference))));
    expect(ids.map((r) => r.imageRef)).toEqual(names.map((n) => images[n]!.configDigest));
    // httpd and user-uid share the busybox layer blob; docker-schema2 has the same layer under its own media type.
    expect(blobGets(s.proxy).get(big.digest)).toBe(1);
  } finally {
    await tearDown(s);
  }
});

test('a 5xx is retried with backoff; a 404 is not retried', async () => {
  const s = await setUp({ fail: { match: new RegExp(big.digest), status: 503, times: 2 } });
  try {
    await expect(s.k.client.image.pullImage(pullReq(images.httpd!.reference))).resolves.toEqual({ imageRef: images.httpd!.configDigest });
    expect(blobGets(s.proxy).get(big.digest)).toBe(3);
    const before = s.proxy.requests.length;
    await expect(s.k.client.image.pullImage(pullReq(`${REGISTRY}/krill-test/httpd:missing`))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(s.proxy.requests.length - before).toBe(1);
  } finally {
    await tearDown(s);
  }
});

test('a connection cut in the middle of a layer is retried and the pull succeeds', async () => {
  const s = await setUp({ reset: { match: new RegExp(big.digest), afterBytes: 300_000 } });
  try {
    await expect(s.k.client.image.pullImage(pullReq(images.httpd!.reference))).resolves.toEqual({ imageRef: images.httpd!.configDigest });
    expect(blobGets(s.proxy).get(big.digest)).toBe(2);
    expect(s.k.logs().some((l) => l.msg === 'layer download failed; retrying' && l.layer === big.digest)).toBe(true);
    expect(layerDirs(s.k).leftovers).toEqual([]);
  } finally {
    await tearDown(s);
  }
});

test('a client that gives up cancels the pull, which cleans up; a later pull succeeds', async () => {
  const slow: ProxyOptions = { throttleBytesPer50ms: 8 * 1024 };
  const s = await setUp(slow);
  try {
    await expect(s.k.client.image.pullImage(pullReq(layered.reference), { timeoutMs: 1500 })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await waitFor('the cancelled pull to clean up', () => s.k.logs().some((l) => l.msg === 'pull failed' && l.code === 'Cancelled'));
    expect(layerDirs(s.k)).toEqual({ layers: [], leftovers: [] });
    expect(contentBlobs(s.k)).toEqual([]);
    expect((await s.k.client.image.listImages({ filter: undefined })).images).toEqual([]);
    delete slow.throttleBytesPer50ms;
    await expect(s.k.client.image.pullImage(pullReq(images.httpd!.reference))).resolves.toEqual({ imageRef: images.httpd!.configDigest });
  } finally {
    await tearDown(s);
  }
});

test('a pull that makes no progress for pull_progress_timeout fails with a clear error and cleans up', async () => {
  const s = await setUp({ stall: { match: new RegExp(big.digest), afterBytes: 10_000 } }, 'pull_progress_timeout = "1s"');
  try {
    await expect(s.k.client.image.pullImage(pullReq(images.httpd!.reference))).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
      details: expect.stringMatching(/made no progress: .*no data from http:\/\/127\.0\.0\.1:\d+\/v2\/krill-test\/httpd\/blobs\/sha256:[a-f0-9]+ for 1s/),
    });
    expect(layerDirs(s.k)).toEqual({ layers: [], leftovers: [] });
    expect(contentBlobs(s.k)).toEqual([]);
  } finally {
    await tearDown(s);
  }
});

test('progress is logged per layer at a steady pace', async () => {
  const s = await setUp({ throttleBytesPer50ms: 32 * 1024 }, 'progress_log_interval = "300ms"');
  try {
    await s.k.client.image.pullImage(pullReq(images.httpd!.reference));
    // The logger writes asynchronously: "pull done" follows every progress line.
    await waitFor('the pull done line', () => s.k.logs().some((l) => l.msg === 'pull done'));
    const lines = s.k.logs().filter((l) => l.msg === 'pull progress');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const last = lines[lines.length - 1]!;
    expect(last).toMatchObject({ image_ref: images.httpd!.reference, bytes_total: images.httpd!.layers!.reduce((n, l) => n + l.size, 0) });
    expect(last.layers).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${big.digest.slice(7, 19)} (downloading|unpacked) \\d+/${big.size}$`))]));
    const done = lines.map((l) => Number(l.bytes_done));
    expect(done).toEqual([...done].sort((a, b) => a - b));
  } finally {
    await tearDown(s);
  }
});

test('kill -9 of krilld in the middle of a pull: after a restart the store is consistent and the pull succeeds', async () => {
  const s = await setUp({ throttleBytesPer50ms: 16 * 1024 });
  try {
    const pull = s.k.client.image.pullImage(pullReq(layered.reference)).catch((e: unknown) => e);
    await s.proxy.waitForBlobBytes(200 * 1024);
    await waitFor('an unpack in progress', () => layerDirs(s.k).leftovers.length > 0);
    await s.k.kill9();
    expect(await pull).toMatchObject({ code: grpc.status.UNAVAILABLE });
    await s.k.restart();
    expect(layerDirs(s.k)).toEqual({ layers: [], leftovers: [] });
    expect(ingestFiles(s.k)).toEqual([]);
    expect((await s.k.client.image.listImages({ filter: undefined })).images).toEqual([]);
    expect((await s.k.client.image.imageFsInfo({})).imageFilesystems[0]!.usedBytes!.value).toBe(0n);

    await expect(s.k.client.image.pullImage(pullReq(layered.reference))).resolves.toEqual({ imageRef: layered.configDigest });
    const diffs = await withMergedTree(await layerPaths(s.k, layered.reference), (root) => treeDifferences(root, layered.tree!));
    expect(diffs).toEqual([]);
    expect((await s.k.client.image.imageStatus({ image: spec(layered.reference), verbose: false })).image!.repoTags).toEqual([layered.reference]);
  } finally {
    await tearDown(s);
  }
});
