// GetContainerEvents (what kubelet's evented PLEG listens to) and the
// Prometheus metrics a real workload leaves behind.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { ContainerEventType, ContainerState, type ContainerEventResponse } from '../api/runtime/v1/api';
import { containerConfig, pull, startContainerKrilld, testImage, waitExited } from './harness/containers';
import { until, type Krilld } from './harness/krilld';
import { podConfig, runRequest } from './harness/pods';
import { removeTestCgroups } from './harness/cgroups';
import { testCgroupParent } from './harness/paths';

const IMAGE = testImage('layered');
const cgroupParent = testCgroupParent('events');

let k: Krilld;
let podId: string;

beforeAll(async () => {
  k = await startContainerKrilld();
  await pull(k.client, IMAGE);
  podId = (await k.client.runtime.runPodSandbox(runRequest(podConfig({ cgroupParent })))).podSandboxId;
});

afterAll(async () => {
  await k.client.runtime.stopPodSandbox({ podSandboxId: podId }).catch(() => undefined);
  await k.client.runtime.removePodSandbox({ podSandboxId: podId }).catch(() => undefined);
  await k.cleanup();
  removeTestCgroups(cgroupParent);
});

/** Collects events from a subscription until `count` arrived for `containerId`. */
class Subscriber {
  readonly events: ContainerEventResponse[] = [];
  readonly stream: ClientReadableStream<ContainerEventResponse>;
  private waiters: (() => void)[] = [];

  constructor(client: Krilld['client']) {
    this.stream = client.runtime.getContainerEvents({});
    this.stream.on('data', (e: ContainerEventResponse) => {
      this.events.push(e);
      for (const w of this.waiters.splice(0)) w();
    });
    this.stream.on('error', () => undefined);
  }

  of(id: string): ContainerEventResponse[] {
    return this.events.filter((e) => e.containerId === id);
  }

  async waitFor(id: string, count: number, timeoutMs = 15_000): Promise<ContainerEventResponse[]> {
    const end = Date.now() + timeoutMs;
    while (this.of(id).length < count) {
      if (Date.now() > end) throw new Error(`only ${this.of(id).length} of ${count} events for ${id}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return this.of(id);
  }

  close(): void {
    this.stream.cancel();
  }
}

let probes = 0;

/**
 * Resolves once krilld has registered every subscriber (the stream gives no sign of it): each must see
 * an event of a probe container made after it subscribed. A subscriber registered too late for one
 * probe is caught by the next; the deadline is generous.
 */
async function subscribed(...subs: Subscriber[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { containerId } = await k.client.runtime.createContainer({ podSandboxId: podId, config: containerConfig(`probe-${probes++}`, IMAGE, { command: ['true'] }), sandboxConfig: undefined });
    await k.client.runtime.removeContainer({ containerId });
    try {
      for (const sub of subs) await sub.waitFor(containerId, 1, 5_000); // CREATED or DELETED: it was listening
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

/**
 * A container of the pod that runs until the test touches `go` in a host directory (mounted at /signal),
 * then exits with `code`: its exit happens when the test says, not when a timer does.
 */
async function createHeldContainer(name: string, code: number): Promise<{ containerId: string; release: () => void }> {
  const dir = mkdtempSync(join(k.dir, 'signal-'));
  const script = `while [ ! -e /signal/go ]; do sleep 1; done; exit ${code}`;
  const { containerId } = await k.client.runtime.createContainer({
    podSandboxId: podId,
    config: containerConfig(name, IMAGE, { command: ['sh', '-c', script], mounts: [{ containerPath: '/signal', hostPath: dir }] }),
    sandboxConfig: undefined,
  });
  return { containerId, release: () => writeFileSync(join(dir, 'go'), '') };
}

async function runToCompletion(name: string, command: string[]): Promise<string> {
  const { containerId } = await k.client.runtime.createContainer({ podSandboxId: podId, config: containerConfig(name, IMAGE, { command }), sandboxConfig: undefined });
  await k.client.runtime.startContainer({ containerId });
  await waitExited(k.client, containerId);
  await k.client.runtime.removeContainer({ containerId });
  return containerId;
}

test('every subscriber gets CREATED, STARTED, STOPPED, DELETED in order with statuses', async () => {
  const a = new Subscriber(k.client);
  const b = new Subscriber(k.client);
  try {
    await subscribed(a, b);
    const id = await runToCompletion('evented', ['sh', '-c', 'exit 4']);
    for (const sub of [a, b]) {
      const events = await sub.waitFor(id, 4);
      expect(events.map((e) => e.containerEventType)).toEqual([
        ContainerEventType.CONTAINER_CREATED_EVENT,
        ContainerEventType.CONTAINER_STARTED_EVENT,
        ContainerEventType.CONTAINER_STOPPED_EVENT,
        ContainerEventType.CONTAINER_DELETED_EVENT,
      ]);
      expect(events.map((e) => e.containersStatuses[0]!.state)).toEqual([
        ContainerState.CONTAINER_CREATED,
        ContainerState.CONTAINER_RUNNING,
        ContainerState.CONTAINER_EXITED,
        ContainerState.CONTAINER_EXITED,
      ]);
      expect(events[2]!.containersStatuses[0]!.exitCode).toBe(4);
      expect(events[0]!.podSandboxStatus!.id).toBe(podId);
      const times = events.map((e) => e.createdAt);
      expect([...times].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(times);
    }
  } finally {
    a.close();
    b.close();
  }
});

test('PodSandboxStatus carries every container of the pod and when it looked (evented PLEG reads them instead of listing)', async () => {
  const before = (await k.client.runtime.podSandboxStatus({ podSandboxId: podId, verbose: false })).timestamp;
  const { containerId } = await k.client.runtime.createContainer({ podSandboxId: podId, config: containerConfig('in-pod-status', IMAGE, { command: ['sh', '-c', 'sleep 60'] }), sandboxConfig: undefined });
  try {
    await k.client.runtime.startContainer({ containerId });
    const r = await k.client.runtime.podSandboxStatus({ podSandboxId: podId, verbose: false });
    expect(r.timestamp > before).toBe(true);
    const mine = r.containersStatuses.find((c) => c.id === containerId);
    expect(mine?.state).toBe(ContainerState.CONTAINER_RUNNING);
    expect(mine?.metadata?.name).toBe('in-pod-status');
    const listed = await k.client.runtime.listContainers({ filter: { id: '', state: undefined, podSandboxId: podId, labelSelector: {} } });
    expect(r.containersStatuses.map((c) => c.id).sort()).toEqual(listed.containers.map((c) => c.id).sort());
  } finally {
    await k.client.runtime.stopContainer({ containerId, timeout: 0n });
    await k.client.runtime.removeContainer({ containerId });
  }
});

test('a container that exits while krilld is down is reported after the restart', async () => {
  const { containerId, release } = await createHeldContainer('exits-while-down', 9);
  await k.client.runtime.startContainer({ containerId });
  await k.kill9();
  release();
  // conmon records the exit while krilld is down
  await until('the exit file of the container', () => existsSync(join(k.state, 'exits', containerId)));
  await k.restart();
  const sub = new Subscriber(k.client);
  try {
    const [stopped] = await sub.waitFor(containerId, 1);
    expect(stopped!.containerEventType).toBe(ContainerEventType.CONTAINER_STOPPED_EVENT);
    expect(stopped!.containersStatuses[0]!.exitCode).toBe(9);
  } finally {
    sub.close();
  }
  await k.client.runtime.removeContainer({ containerId });
});

test('metrics count RPCs, pods, containers, pulls and runtime operations', async () => {
  await runToCompletion('for-metrics', ['true']);
  const { containerId } = await k.client.runtime.createContainer({ podSandboxId: podId, config: containerConfig('probe-target', IMAGE, { command: ['sleep', '60'] }), sandboxConfig: undefined });
  await k.client.runtime.startContainer({ containerId });
  await k.client.runtime.execSync({ containerId, cmd: ['true'], timeout: 5n });
  const status = await k.client.runtime.status({ verbose: true });
  const where = JSON.parse(status.info.metrics!) as { address: string; path: string };
  const text = await (await fetch(`http://${where.address}${where.path}`)).text();
  const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? 'NaN');
  expect(value(/^krill_grpc_requests_total\{method="CreateContainer",code="OK"\} (\d+)/m)).toBeGreaterThan(0);
  expect(value(/^krill_pods\{state="ready"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
  expect(value(/^krill_containers\{state="running"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
  expect(value(/^krill_runtime_operation_duration_seconds_count\{operation="create",result="success"\} (\d+)/m)).toBeGreaterThan(0);
  expect(value(/^krill_exec_sync_duration_seconds_count\{result="exit_zero"\} (\d+)/m)).toBeGreaterThan(0);
  const before = value(/^krill_cni_operation_duration_seconds_count\{operation="ADD",result="success"\} (\d+)/m) || 0;
  const extraPod = (await k.client.runtime.runPodSandbox(runRequest(podConfig({ cgroupParent })))).podSandboxId;
  await k.client.runtime.stopPodSandbox({ podSandboxId: extraPod });
  await k.client.runtime.removePodSandbox({ podSandboxId: extraPod });
  const withPod = await (await fetch(`http://${where.address}${where.path}`)).text();
  expect(Number(/^krill_cni_operation_duration_seconds_count\{operation="ADD",result="success"\} (\d+)/m.exec(withPod)?.[1])).toBe(before + 1);
  expect(Number(/^krill_cni_operation_duration_seconds_count\{operation="DEL",result="success"\} (\d+)/m.exec(withPod)?.[1])).toBeGreaterThan(0);
  // The pull happened before the restart above; pull the image again under another name to count one here.
  await pull(k.client, testImage('user-uid'));
  const after = await (await fetch(`http://${where.address}${where.path}`)).text();
  expect(Number(/^krill_image_pulls_total\{result="success"\} (\d+)/m.exec(after)?.[1])).toBeGreaterThan(0);
  expect(Number(/^krill_image_pull_bytes_total (\d+)/m.exec(after)?.[1])).toBeGreaterThan(0);
  await k.client.runtime.removeContainer({ containerId });
});
