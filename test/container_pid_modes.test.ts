// The pid namespace modes of a container, seen from inside: its own
// (CONTAINER), the pod's shared one with the infra process as pid 1 (POD),
// the node's (NODE), and another container's (TARGET, as ephemeral debug
// containers use).
import { readlinkSync } from 'node:fs';
import { NamespaceMode } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { testImage, type ContainerConfigInit } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';

const BUSYBOX = testImage('layered');

let f: ContainerFixture;
let pod: TestPod;

beforeAll(async () => {
  f = await containerFixture('ctr-pid', [BUSYBOX]);
  pod = await f.pod();
});

afterAll(async () => {
  await f?.cleanup();
});

let seq = 0;
const nextName = (what: string): string => `${what}-${++seq}`;

/** Every process the container can see, as "pid: command line". */
const PS = 'for p in /proc/[0-9]*; do echo "${p#/proc/}: $(tr "\\0" " " < $p/cmdline)"; done';

function namespaceOptions(pid: NamespaceMode, targetId = ''): ContainerConfigInit {
  return { linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, ipc: NamespaceMode.POD, pid, targetId, usernsOptions: undefined } } } };
}

async function pidNamespaceOf(t: TestPod, id: string): Promise<string> {
  return readlinkSync(`/proc/${(await t.info(id)).pid}/ns/pid`);
}

test('CONTAINER: the container is pid 1 of a namespace of its own', async () => {
  const other = await pod.start(nextName('other'), BUSYBOX, { command: ['sleep', '1111'] });
  const r = await pod.sh(nextName('own'), BUSYBOX, `echo self=$$; ${PS}`, namespaceOptions(NamespaceMode.CONTAINER));
  expect(r.stdout).toMatch(/^self=1\n/);
  expect(r.stdout).not.toMatch(/sleep 1111/);
  const id = await pod.start(nextName('own-ns'), BUSYBOX, { command: ['sleep', '3600'], ...namespaceOptions(NamespaceMode.CONTAINER) });
  expect(await pidNamespaceOf(pod, id)).not.toBe(await pidNamespaceOf(pod, other));
  expect(await pidNamespaceOf(pod, id)).not.toBe(readlinkSync('/proc/self/ns/pid'));
  for (const c of [other, id]) await f.client.runtime.removeContainer({ containerId: c });
});

describe('POD', () => {
  let shared: TestPod | undefined;
  let unimplemented = '';

  beforeAll(async () => {
    try {
      shared = await f.pod({ sharePid: true });
    } catch (err) {
      if ((err as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw err;
      unimplemented = (err as grpc.ServiceError).details;
    }
  });

  test("a container sees the pod's other containers, and the infra process as pid 1", async () => {
    // Every runtime Krill supports shares a pod's pid namespace: UNIMPLEMENTED here is a failure, never a pass.
    if (!shared) throw new Error(`RunPodSandbox with a shared pid namespace is UNIMPLEMENTED: ${unimplemented}`);
    const a = await shared.start(nextName('a'), BUSYBOX, { command: ['sleep', '2222'], ...namespaceOptions(NamespaceMode.POD) });
    const r = await shared.sh(nextName('b'), BUSYBOX, PS, namespaceOptions(NamespaceMode.POD));
    expect(r.stdout).toMatch(/^\d+: sleep 2222 $/m);
    expect(r.stdout).toMatch(/^1: \S*catatonit/m);
    const b = await shared.start(nextName('c'), BUSYBOX, { command: ['sleep', '3600'], ...namespaceOptions(NamespaceMode.POD) });
    expect(await pidNamespaceOf(shared, b)).toBe(await pidNamespaceOf(shared, a));
    for (const c of [a, b]) await f.client.runtime.removeContainer({ containerId: c });
  });

  test("a container of a pod without a shared pid namespace cannot ask for the pod's", async () => {
    await expect(pod.create(nextName('nopod'), BUSYBOX, namespaceOptions(NamespaceMode.POD))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

test("NODE: the container sees the node's processes", async () => {
  const r = await pod.sh(nextName('node'), BUSYBOX, `readlink /proc/self/ns/pid; ${PS}`, namespaceOptions(NamespaceMode.NODE));
  const [ns] = r.stdout.split('\n');
  expect(ns).toBe(readlinkSync('/proc/self/ns/pid'));
  expect(r.stdout).toMatch(new RegExp(`^${f.k.pid()}: .*krilld`, 'm'));
});

describe('TARGET', () => {
  test("the container joins the target container's pid namespace", async () => {
    const target = await pod.start(nextName('target'), BUSYBOX, { command: ['sleep', '4444'], ...namespaceOptions(NamespaceMode.CONTAINER) });
    const debug = await pod.start(nextName('debug'), BUSYBOX, { command: ['sleep', '3600'], ...namespaceOptions(NamespaceMode.TARGET, target) });
    expect(await pidNamespaceOf(pod, debug)).toBe(await pidNamespaceOf(pod, target));
    const r = await pod.exec(debug, ['sh', '-c', PS]);
    expect(r.stdout).toMatch(/^1: sleep 4444 $/m);
    for (const c of [debug, target]) await f.client.runtime.removeContainer({ containerId: c });
  });

  test('the target must exist, be running and belong to the same pod', async () => {
    await expect(pod.create(nextName('notarget'), BUSYBOX, namespaceOptions(NamespaceMode.TARGET, 'f'.repeat(64)))).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringContaining('target_id'),
    });
    await expect(pod.create(nextName('emptytarget'), BUSYBOX, namespaceOptions(NamespaceMode.TARGET, ''))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('target_id'),
    });
    const stopped = await pod.create(nextName('stopped'), BUSYBOX, { command: ['true'] });
    await expect(pod.create(nextName('tostopped'), BUSYBOX, namespaceOptions(NamespaceMode.TARGET, stopped))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('not running'),
    });
    const elsewhere = await f.pod();
    const foreign = await elsewhere.start(nextName('foreign'), BUSYBOX, { command: ['sleep', '3600'] });
    await expect(pod.create(nextName('toforeign'), BUSYBOX, namespaceOptions(NamespaceMode.TARGET, foreign))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('another pod'),
    });
    for (const c of [stopped, foreign]) await f.client.runtime.removeContainer({ containerId: c });
  });
});
