// krilld killed (SIGKILL) at every named crash point of pkg/util/crash_points.ts,
// then started again: every object is either fully there or fully gone, what
// is there can be removed, and nothing is left on the host (this file's leak
// check, and the runtime and mount checks after each point).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState } from '../api/runtime/v1/api';
import { CRASH_POINTS, type CrashPoint } from '../pkg/util/crash_points';
import { mountsUnder } from '../pkg/storage/mount';
import { containerConfig, pull, startContainerKrilld, testImage } from './harness/containers';
import type { Krilld } from './harness/krilld';
import { removeTestCgroups } from './harness/cgroups';
import { testCgroupParent } from './harness/paths';
import { podConfig, removeAllPods, runRequest, uniqueName } from './harness/pods';

const IMAGE = testImage('compress-gzip');
const CRASH_IMAGE = testImage('layered');
const cgroupParent = testCgroupParent(uniqueName('crash'));
let k: Krilld;

beforeAll(async () => {
  k = await startContainerKrilld();
  await pull(k.client, IMAGE);
});

afterAll(async () => {
  await removeAllPods(k.client).catch(() => undefined);
  await k.cleanup();
  removeTestCgroups(cgroupParent);
});

async function runPod(sharePid = false): Promise<{ id: string; config: ReturnType<typeof podConfig> }> {
  const name = uniqueName('crash');
  const logDir = join(k.dir, 'logs', name);
  mkdirSync(logDir, { recursive: true });
  const config = podConfig({ name, cgroupParent: `${cgroupParent}/${name}`, sharePid }, { logDirectory: logDir });
  const { podSandboxId } = await k.client.runtime.runPodSandbox(runRequest(config));
  return { id: podSandboxId, config };
}

async function createContainer(podId: string, config: ReturnType<typeof podConfig>): Promise<string> {
  const c = containerConfig('sleeper', IMAGE, { command: ['sleep', '3600'], logPath: 'sleeper.log' });
  return (await k.client.runtime.createContainer({ podSandboxId: podId, config: c, sandboxConfig: config })).containerId;
}

/** The operations leading to each point; the last one is expected to die there. */
const DRIVE: Record<CrashPoint, () => Promise<unknown>> = {
  'pod.create.recorded': () => runPod(),
  'pod.create.cgroup': () => runPod(),
  'pod.create.namespaces': () => runPod(),
  'pod.create.network': () => runPod(),
  'pod.create.infra': () => runPod(true),
  'pod.create.files': () => runPod(true),
  'pod.stop.torn-down': async () => k.client.runtime.stopPodSandbox({ podSandboxId: (await runPod(true)).id }),
  'pod.remove.torn-down': async () => k.client.runtime.removePodSandbox({ podSandboxId: (await runPod(true)).id }),
  'pod.remove.files': async () => k.client.runtime.removePodSandbox({ podSandboxId: (await runPod()).id }),
  'container.create.recorded': async () => {
    const p = await runPod();
    return createContainer(p.id, p.config);
  },
  'container.create.rootfs': async () => {
    const p = await runPod();
    return createContainer(p.id, p.config);
  },
  'container.create.spec': async () => {
    const p = await runPod();
    return createContainer(p.id, p.config);
  },
  'container.create.runtime': async () => {
    const p = await runPod();
    return createContainer(p.id, p.config);
  },
  'container.start.runtime': async () => {
    const p = await runPod();
    return k.client.runtime.startContainer({ containerId: await createContainer(p.id, p.config) });
  },
  'container.stop.runtime': async () => {
    const p = await runPod();
    const id = await createContainer(p.id, p.config);
    await k.client.runtime.startContainer({ containerId: id });
    return k.client.runtime.stopContainer({ containerId: id, timeout: 0n });
  },
  'container.remove.runtime': async () => {
    const p = await runPod();
    const id = await createContainer(p.id, p.config);
    await k.client.runtime.startContainer({ containerId: id });
    return k.client.runtime.removeContainer({ containerId: id });
  },
  'container.remove.rootfs': async () => {
    const p = await runPod();
    const id = await createContainer(p.id, p.config);
    return k.client.runtime.removeContainer({ containerId: id });
  },
  'image.pull.layer-unpacked': () => pull(k.client, CRASH_IMAGE),
  'image.pull.layer-committed': () => pull(k.client, CRASH_IMAGE),
  'image.pull.recorded': () => pull(k.client, CRASH_IMAGE),
  'exec.spec-written': async () => {
    const p = await runPod();
    const id = await createContainer(p.id, p.config);
    await k.client.runtime.startContainer({ containerId: id });
    return k.client.runtime.execSync({ containerId: id, cmd: ['true'], timeout: 10n });
  },
};

/** What the runtime root and the state directory hold besides what records own. */
function hostLeftovers(): string[] {
  const out: string[] = [];
  const runtimeRoot = join(k.state, 'runtime', 'runc');
  try {
    const listed = JSON.parse(execFileSync('runc', ['--root', runtimeRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || 'null') as { id: string }[] | null;
    for (const c of listed ?? []) out.push(`runc container ${c.id}`);
  } catch {
    // no root yet
  }
  for (const dir of [join(k.state, 'containers'), join(k.state, 'pods'), join(k.state, 'ns'), join(k.root, 'pods'), join(k.root, 'containers-fs')]) {
    if (existsSync(dir)) for (const n of readdirSync(dir)) out.push(`${dir}/${n}`);
  }
  for (const m of mountsUnder(k.dir)) if (m !== join(k.state, 'ns')) out.push(`mount ${m}`);
  return out;
}

test.each(CRASH_POINTS.map((p) => [p]))('killed at %s: nothing lost, everything removable, nothing left', async (point) => {
  await k.restart({ KRILL_CRASH_AT: point, KRILL_TEST_RUN: process.env.KRILL_IT_RUN ?? 'crash-points' });
  const died = k.exited();
  const outcome = await DRIVE[point]().then(
    () => 'finished',
    (err: unknown) => `failed: ${(err as Error).message}`,
  );
  await died;
  expect({ point, outcome: outcome.startsWith('failed') ? 'the call failed' : outcome }).toEqual({ point, outcome: 'the call failed' });
  await k.restart({});

  // Everything listed can be inspected and removed; the image (when listed) can be used.
  const pods = (await k.client.runtime.listPodSandbox({ filter: undefined })).items;
  const containers = (await k.client.runtime.listContainers({ filter: undefined })).containers;
  for (const c of containers) {
    expect(c.podSandboxId).toMatch(/^[0-9a-f]{64}$/);
    expect(pods.map((p) => p.id)).toContain(c.podSandboxId);
    expect([ContainerState.CONTAINER_CREATED, ContainerState.CONTAINER_RUNNING, ContainerState.CONTAINER_EXITED]).toContain(c.state);
  }
  if (point.startsWith('image.')) {
    const listed = (await k.client.image.listImages({ filter: undefined })).images.filter((i) => i.repoTags.includes(CRASH_IMAGE));
    if (listed.length > 0) {
      // A listed image is whole: a container can be made from it.
      const p = await runPod();
      const c = containerConfig('check', CRASH_IMAGE, { command: ['true'] });
      await expect(k.client.runtime.createContainer({ podSandboxId: p.id, config: c, sandboxConfig: p.config })).resolves.toBeDefined();
    }
    await pull(k.client, CRASH_IMAGE);
    await k.client.image.removeImage({ image: { image: CRASH_IMAGE, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
  }
  for (const p of (await k.client.runtime.listPodSandbox({ filter: undefined })).items) {
    await k.client.runtime.stopPodSandbox({ podSandboxId: p.id });
    await k.client.runtime.removePodSandbox({ podSandboxId: p.id });
  }
  expect((await k.client.runtime.listContainers({ filter: undefined })).containers).toEqual([]);
  expect(hostLeftovers()).toEqual([]);
});
