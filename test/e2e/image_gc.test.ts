// kubelet's image garbage collection through Krill's ImageFsInfo, ListImages
// and RemoveImage: with thresholds set low it removes unused images, never an
// image in use and never the pinned one (Krill's pause_image, which the e2e
// run sets to a test image: harness/settings.ts).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KUBELET_DROPIN_DIR, PINNED_IMAGE } from './harness/settings';
import { BUSYBOX, Namespace, apply, crictl, image, kubectl, nodeName, pod, shContainer, testbed, waitFor, waitPodReady } from './harness/kube';

const MINUTE = 60_000;
const DROPIN = join(KUBELET_DROPIN_DIR, '50-e2e-image-gc.conf');
const ns = new Namespace('imagegc');

async function restartKubelet(): Promise<void> {
  await testbed('restart', 'kubelet');
  await waitFor('the node to be Ready after the kubelet restart', async () =>
    (await kubectl(['get', 'node', nodeName(), '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True', 3 * MINUTE);
}

async function images(): Promise<{ tags: string[]; pinned: boolean }[]> {
  const list = JSON.parse(await crictl(['images', '-o', 'json'])).images as { repoTags: string[]; pinned: boolean }[];
  return list.map((i) => ({ tags: i.repoTags ?? [], pinned: i.pinned }));
}
const has = (list: { tags: string[] }[], ref: string): boolean => list.some((i) => i.tags.includes(ref));

beforeAll(() => ns.create(), 2 * MINUTE);
afterAll(async () => {
  rmSync(DROPIN, { force: true });
  await restartKubelet();
  await ns.cleanup();
}, 6 * MINUTE);

test('image GC removes unused images, never one in use or the pinned one', async () => {
  // Images of IDs of their own (compress-gzip and -zstd share the pinned image's ID).
  const unused = [image('httpd'), image('docker-schema2')];
  for (const ref of [...unused, PINNED_IMAGE]) await crictl(['pull', ref]);
  await apply(ns.name, pod('user', { containers: [shContainer('main', 'sleep 3600')] }));
  await waitPodReady(ns.name, 'user');
  const before = await images();
  for (const ref of [...unused, PINNED_IMAGE, BUSYBOX]) expect(has(before, ref)).toBe(true);
  expect(before.find((i) => i.tags.includes(PINNED_IMAGE))!.pinned).toBe(true);

  // Any disk use is over 1 %: kubelet frees what it can. It collects at its start (when it has
  // only just seen the images, too young to go) and every 5 minutes after: a wait of 5 minutes.
  // (A minimum age of 0s means the 2-minute default.)
  writeFileSync(DROPIN, [
    'apiVersion: kubelet.config.k8s.io/v1beta1', 'kind: KubeletConfiguration',
    'imageGCHighThresholdPercent: 1', 'imageGCLowThresholdPercent: 0', 'imageMinimumGCAge: 1s', '',
  ].join('\n'));
  await restartKubelet();
  const after = await waitFor('kubelet to remove the unused images', async () => {
    const list = await images();
    return unused.every((ref) => !has(list, ref)) ? list : undefined;
  }, 8 * MINUTE, 2000);
  expect(has(after, PINNED_IMAGE)).toBe(true);
  expect(has(after, BUSYBOX)).toBe(true);
}, 12 * MINUTE);
