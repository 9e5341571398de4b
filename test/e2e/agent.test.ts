// Krill's node agent installed with its Helm chart, exactly as an operator does on the test bed:
//   helm install krill deploy/charts/krill -f deploy/charts/krill/values-testbed.yaml
// then: the condition and labels on the node, the RuntimeClasses, krilld stopped and started, a
// live config change (a registry mirror) without a krilld or pod restart, a refused bad value, an
// ImageCache that kubelet's image GC leaves alone (with kubelet's image GC itself: unused images go,
// one in use and Krill's pinned image stay), and an uninstall that leaves nothing behind.
// The tests run in order and share the release.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/paths';
import { KUBELET_DROPIN_DIR, PINNED_IMAGE } from './harness/settings';
import {
  BUSYBOX, Namespace, TESTBED, apply, containerStatus, crictl, getJson, getPod, image, kubectl, kubectlRaw, nodeName, pod, shContainer, testbed, waitFor, waitPodReady,
} from './harness/kube';

const MINUTE = 60_000;
const RELEASE = 'krill';
const NS = 'krill-system';
const CHART = 'deploy/charts/krill';
const VALUES = 'deploy/charts/krill/values-testbed.yaml';
const DROPIN_DIR = '/var/lib/krill-testbed/krill.d';
const KRILLD_PID = '/run/krill-testbed/krilld.pid';
const KUBELET_GC_DROPIN = join(KUBELET_DROPIN_DIR, '50-e2e-agent-image-gc.conf');
const MIRRORED = 'mirror.e2e-agent.invalid';
const MIRROR_CONFIG = JSON.stringify({ image: { registries: { [MIRRORED]: { mirrors: [`http://${TESTBED.registry}`], mirror_only: true } } } });
const CACHED = image('user-name');
const UNPINNED = [image('docker-schema2'), image('user-uid-gid')];
const ns = new Namespace('agent');
const node = nodeName();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
/** helm (v3) of the test bed, from the repo root (the chart paths are relative to it, as in the docs). */
function helm(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(join(TESTBED.bin, 'helm'), args, {
      cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 16 << 20, timeout: 10 * MINUTE,
      env: { ...process.env, KUBECONFIG: TESTBED.kubeconfig, HELM_CACHE_HOME: '/tmp/krill-e2e-helm/cache', HELM_CONFIG_HOME: '/tmp/krill-e2e-helm/config', HELM_DATA_HOME: '/tmp/krill-e2e-helm/data' },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}
async function helmOk(...args: string[]): Promise<string> {
  const r = await helm(...args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
const INSTALL = ['install', RELEASE, CHART, '-f', VALUES, '-n', NS, '--create-namespace'];
const upgrade = (...set: string[]): Promise<string> => helmOk('upgrade', RELEASE, CHART, '-f', VALUES, '-n', NS, '--wait', '--timeout', '5m', ...set);

type Obj = Record<string, any>;
const getNode = (): Promise<Obj> => getJson<Obj>(undefined, 'node', node);
const condition = (n: Obj): Obj | undefined => (n.status?.conditions ?? []).find((c: Obj) => c.type === 'KrillRuntimeReady');
const krillLabels = (n: Obj): Record<string, string> =>
  Object.fromEntries(Object.entries((n.metadata.labels ?? {}) as Record<string, string>).filter(([k]) => k.startsWith('krill.dev/')));
const krillAnnotations = (n: Obj): Record<string, string> =>
  Object.fromEntries(Object.entries((n.metadata.annotations ?? {}) as Record<string, string>).filter(([k]) => k.startsWith('krill.dev/')));
const krilldPid = (): string => readFileSync(KRILLD_PID, 'utf8').trim();
const dropins = (): string[] => (existsSync(DROPIN_DIR) ? readdirSync(DROPIN_DIR).sort() : []);

async function agentPod(): Promise<Obj> {
  return waitFor('the agent pod to be Running and Ready', async () => {
    const pods = (await getJson<Obj>(NS, 'pods', '-l', 'app.kubernetes.io/component=agent')).items as Obj[];
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    const p = live.length === 1 ? live[0] : undefined;
    return p?.status?.phase === 'Running' && (p.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
  }, 3 * MINUTE);
}

/** Node events of `reason` newer than `since` (the agent posts them in `default`). */
async function nodeEvents(reason: string, since: number): Promise<Obj[]> {
  const list = (await getJson<Obj>('default', 'events', '--field-selector', `involvedObject.kind=Node,involvedObject.name=${node},reason=${reason}`)).items as Obj[];
  return list.filter((e) => Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp) >= since - 1000);
}

async function restartKubelet(): Promise<void> {
  await testbed('restart', 'kubelet');
  await waitFor('the node to be Ready after the kubelet restart', async () =>
    (await kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True', 3 * MINUTE);
}

async function removeRelease(): Promise<void> {
  const r = await helm('status', RELEASE, '-n', NS);
  if (r.code === 0) await helmOk('uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '5m');
  await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
}

beforeAll(async () => {
  // A release an interrupted run left.
  await removeRelease();
  await kubectl(['delete', 'imagecaches.krill.dev', '--all', '--ignore-not-found']).catch(() => undefined);
  await ns.create();
}, 10 * MINUTE);

afterAll(async () => {
  if (existsSync(KUBELET_GC_DROPIN)) {
    rmSync(KUBELET_GC_DROPIN, { force: true });
    await restartKubelet();
  }
  await testbed('start', 'krilld');
  await ns.cleanup();
  await kubectl(['delete', 'imagecaches.krill.dev', '--all', '--ignore-not-found']).catch(() => undefined);
  await removeRelease();
  // Helm installs a chart's CRDs but never deletes them: the test takes its own out.
  await kubectl(['delete', 'crd', 'imagecaches.krill.dev', '--ignore-not-found']);
}, 15 * MINUTE);

test('helm install runs the agent on Krill; the node gets KrillRuntimeReady=True and the krill.dev labels; helm test passes', async () => {
  await helmOk(...INSTALL);
  const p = await agentPod();
  expect(p.spec.nodeName).toBe(node);
  expect(containerStatus(p, 'agent')!.containerID).toMatch(/^krill:\/\//);
  const n = await waitFor('KrillRuntimeReady=True and krill.dev/ready=true', async () => {
    const n = await getNode();
    return condition(n)?.status === 'True' && krillLabels(n)['krill.dev/ready'] === 'true' ? n : undefined;
  }, 2 * MINUTE);
  expect(krillLabels(n)).toMatchObject({
    'krill.dev/ready': 'true',
    'krill.dev/version': expect.stringMatching(/^[0-9]/),
    'krill.dev/handler.runc': 'true',
    'krill.dev/handler.crun': 'true',
    'krill.dev/cgroup': expect.stringMatching(/^v[12]$/),
  });
  // kubelet's own conditions stay beside it.
  expect((n.status.conditions as Obj[]).find((c) => c.type === 'Ready')?.status).toBe('True');
  // The test pod checks the node condition and labels through the API and the agents' /healthz (its
  // log is gone with it: hook-succeeded deletes it, so nothing of it outlives the release).
  const t = await helm('test', RELEASE, '-n', NS, '--timeout', '3m');
  expect({ code: t.code, out: t.stdout + t.stderr }).toEqual({ code: 0, out: expect.stringMatching(/TEST SUITE:\s+krill-test[\s\S]*Phase:\s+Succeeded/) });
}, 10 * MINUTE);

test('pods of RuntimeClass runc and crun (the chart\'s, scheduled on krill.dev/ready=true) run under that handler', async () => {
  for (const rc of ['runc', 'crun']) {
    const rcObj = await getJson<Obj>(undefined, 'runtimeclass', rc);
    expect(rcObj).toMatchObject({ handler: rc, scheduling: { nodeSelector: { 'krill.dev/ready': 'true' } } });
    await apply(ns.name, pod(`rc-${rc}`, { runtimeClassName: rc, containers: [shContainer('main', `echo hi-from-${rc}; sleep 3600`)] }));
  }
  for (const rc of ['runc', 'crun']) {
    const p = await waitPodReady(ns.name, `rc-${rc}`);
    expect(p.spec.nodeName).toBe(node);
    const sandbox = JSON.parse(await crictl(['pods', '--label', `io.kubernetes.pod.uid=${p.metadata.uid}`, '-o', 'json'])).items[0];
    expect(sandbox.runtimeHandler).toBe(rc);
    expect(await kubectl(['-n', ns.name, 'logs', `rc-${rc}`])).toBe(`hi-from-${rc}\n`);
  }
}, 6 * MINUTE);

test('krilld stopped: KrillRuntimeReady turns False within 10 s (the agent keeps running); started: True again', async () => {
  const before = await agentPod();
  await testbed('stop', 'krilld');
  const stoppedAt = Date.now();
  try {
    const down = await waitFor('KrillRuntimeReady=False within 10 s of krilld stopping', async () => {
      const c = condition(await getNode());
      return c?.status === 'False' ? c : undefined;
    }, 10_000, 250);
    expect(down.reason).toBeTruthy();
    process.stderr.write(`agent e2e: condition False ${Date.now() - stoppedAt} ms after krilld stopped (${down.reason}: ${down.message})\n`);
    expect(krillLabels(await getNode())['krill.dev/ready']).toBe('false');
  } finally {
    await testbed('start', 'krilld');
  }
  await waitFor('KrillRuntimeReady=True and krill.dev/ready=true again', async () => {
    const n = await getNode();
    return condition(n)?.status === 'True' && krillLabels(n)['krill.dev/ready'] === 'true';
  }, 2 * MINUTE);
  // The agent ran on: same container, no restart.
  const after = await agentPod();
  expect(containerStatus(after, 'agent')!.containerID).toBe(containerStatus(before, 'agent')!.containerID);
  expect(containerStatus(after, 'agent')!.restartCount).toBe(containerStatus(before, 'agent')!.restartCount);
  const events = [...(await nodeEvents('KrillRuntimeNotReady', stoppedAt)), ...(await nodeEvents('KrillRuntimeReady', stoppedAt))];
  expect(new Set(events.map((e) => e.reason))).toEqual(new Set(['KrillRuntimeNotReady', 'KrillRuntimeReady']));
}, 6 * MINUTE);

test('a registry mirror added by helm upgrade applies live: new config hash, same krilld, pods untouched, the mirror serves pulls', async () => {
  await apply(ns.name, pod('steady', { containers: [shContainer('main', 'sleep 3600')] }));
  const steady = await waitPodReady(ns.name, 'steady');
  const pid = krilldPid();
  const hashBefore = krillAnnotations(await getNode())['krill.dev/config-hash'];

  await upgrade('--set-json', `config=${MIRROR_CONFIG}`);
  const hash = await waitFor('a new krill.dev/config-hash on the node', async () => {
    const h = krillAnnotations(await getNode())['krill.dev/config-hash'];
    return h && h !== hashBefore ? h : undefined;
  }, 2 * MINUTE);
  expect(hash).toBeTruthy();
  expect(readFileSync(join(DROPIN_DIR, '50-cluster.toml'), 'utf8')).toContain(MIRRORED);
  expect(krilldPid()).toBe(pid);
  // A pull only the new mirror can serve (nothing answers for the .invalid host itself).
  await apply(ns.name, pod('mirrored', { containers: [shContainer('main', 'sleep 3600', { image: `${MIRRORED}/krill-test/layered:latest`, imagePullPolicy: 'Always' })] }));
  await waitPodReady(ns.name, 'mirrored', 2 * MINUTE);
  const now = await getPod(ns.name, 'steady');
  expect(now.status.startTime).toBe(steady.status.startTime);
  expect(containerStatus(now, 'main')!.restartCount).toBe(containerStatus(steady, 'main')!.restartCount);
  expect(containerStatus(now, 'main')!.state.running.startedAt).toBe(containerStatus(steady, 'main')!.state.running.startedAt);
  expect(krilldPid()).toBe(pid);
}, 8 * MINUTE);

test('a bad value is refused: a ConfigRejected Warning Event, and nothing changes (hash, drop-in, krilld)', async () => {
  const pid = krilldPid();
  const hash = krillAnnotations(await getNode())['krill.dev/config-hash'];
  const good = readFileSync(join(DROPIN_DIR, '50-cluster.toml'), 'utf8');
  const since = Date.now();
  const bad = JSON.stringify({ ...JSON.parse(MIRROR_CONFIG), log_level: 'loud' });
  await upgrade('--set-json', `config=${bad}`);
  const [ev] = await waitFor('a ConfigRejected event', async () => {
    const e = await nodeEvents('ConfigRejected', since);
    return e.length > 0 ? e : undefined;
  }, 2 * MINUTE);
  expect(ev.type).toBe('Warning');
  expect(ev.message).toMatch(/log_level/);
  // The agent put the previous drop-in back; wait for it rather than race the revert.
  await waitFor('the previous drop-in back in place', async () => readFileSync(join(DROPIN_DIR, '50-cluster.toml'), 'utf8') === good, MINUTE);
  expect(krillAnnotations(await getNode())['krill.dev/config-hash']).toBe(hash);
  expect(krilldPid()).toBe(pid);
  // The mirror of the good config still serves.
  await apply(ns.name, pod('mirrored-2', { containers: [shContainer('main', 'sleep 3600', { image: `${MIRRORED}/krill-test/layered:latest`, imagePullPolicy: 'Always' })] }));
  await waitPodReady(ns.name, 'mirrored-2', 2 * MINUTE);
  // Back to the good config.
  await upgrade('--set-json', `config=${MIRROR_CONFIG}`);
}, 8 * MINUTE);

// One kubelet image GC window (it comes every 5 minutes) for two claims: kubelet's GC through
// Krill's ImageFsInfo, ListImages and RemoveImage removes unused images and never one in use
// nor Krill's pinned pause_image (the e2e run sets it to a test image: harness/settings.ts),
// and an ImageCache's image is pinned so that GC keeps it too.
test('image GC with thresholds low removes unused images; it keeps one in use, Krill\'s pinned pause image and an ImageCache\'s image (pulled and pinned by the agent)', async () => {
  const images = async (): Promise<{ tags: string[]; pinned: boolean }[]> =>
    (JSON.parse(await crictl(['images', '-o', 'json'])).images as { repoTags: string[] | null; pinned: boolean }[]).map((i) => ({ tags: i.repoTags ?? [], pinned: i.pinned }));
  const has = (list: { tags: string[] }[], ref: string): boolean => list.some((i) => i.tags.includes(ref));
  if (has(await images(), CACHED)) await crictl(['rmi', CACHED]);
  for (const ref of [...UNPINNED, PINNED_IMAGE]) await crictl(['pull', ref]);
  await apply(ns.name, pod('gc-user', { containers: [shContainer('main', 'sleep 3600')] }));
  await waitPodReady(ns.name, 'gc-user');
  const before = await images();
  for (const ref of [...UNPINNED, PINNED_IMAGE, BUSYBOX]) expect(has(before, ref)).toBe(true);
  expect(before.find((i) => i.tags.includes(PINNED_IMAGE))!.pinned).toBe(true);

  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'krill.dev/v1alpha1', kind: 'ImageCache', metadata: { name: 'e2e-agent' }, spec: { images: [CACHED] } }) });
  const entry = await waitFor('the ImageCache status of this node: pulled', async () => {
    const ic = await getJson<Obj>(undefined, 'imagecache', 'e2e-agent');
    const e = (ic.status?.nodes ?? []).find((x: Obj) => x.node === node && x.image === CACHED);
    return e?.pulled ? e : undefined;
  }, 3 * MINUTE, 1000);
  expect(entry.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  await waitFor('the cached image reported pinned by krilld', async () => (await images()).find((i) => i.tags.includes(CACHED))?.pinned === true, MINUTE);

  writeFileSync(KUBELET_GC_DROPIN, [
    'apiVersion: kubelet.config.k8s.io/v1beta1', 'kind: KubeletConfiguration',
    'imageGCHighThresholdPercent: 1', 'imageGCLowThresholdPercent: 0', 'imageMinimumGCAge: 1s', '',
  ].join('\n'));
  await restartKubelet();
  // kubelet collects at its start (the images are too young then) and every 5 minutes after.
  const after = await waitFor('kubelet to remove the unpinned images', async () => {
    const list = await images();
    return UNPINNED.every((ref) => !has(list, ref)) ? list : undefined;
  }, 8 * MINUTE, 2000);
  expect(has(after, CACHED)).toBe(true);
  expect(has(after, PINNED_IMAGE)).toBe(true);
  expect(has(after, BUSYBOX)).toBe(true);
  rmSync(KUBELET_GC_DROPIN, { force: true });
  await restartKubelet();
  await kubectl(['delete', 'imagecache', 'e2e-agent', '--wait=true']);
  await waitFor('the image cache drop-in to let the image go', async () => (await images()).find((i) => i.tags.includes(CACHED))?.pinned === false, 2 * MINUTE, 1000);
}, 16 * MINUTE);

test('helm upgrade back to the defaults and helm uninstall leave no label, annotation, condition, drop-in or object behind', async () => {
  await upgrade();
  await waitFor('the cluster drop-in removed after the config went empty', async () => !dropins().includes('50-cluster.toml'), 2 * MINUTE);
  await helmOk('uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '5m');
  const n = await getNode();
  expect(krillLabels(n)).toEqual({});
  expect(krillAnnotations(n)).toEqual({});
  expect(condition(n)).toBeUndefined();
  expect(dropins().filter((f) => ['50-cluster.toml', '60-image-cache.toml'].includes(f))).toEqual([]);
  for (const what of [['runtimeclass', 'runc'], ['runtimeclass', 'crun'], ['clusterrole', 'krill'], ['clusterrolebinding', 'krill']]) {
    expect((await kubectlRaw(['get', ...what])).stderr).toMatch(/NotFound/);
  }
  await waitFor('no object of the release left in its namespace', async () =>
    (await kubectl(['-n', NS, 'get', 'all,configmap,role,rolebinding,serviceaccount,job', '-l', 'app.kubernetes.io/instance=krill', '-o', 'name'])).trim() === '', 2 * MINUTE);
}, 10 * MINUTE);
