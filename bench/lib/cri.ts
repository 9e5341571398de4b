// CRI requests as kubelet sends them, the same for every runtime, and the
// pod lifecycle the benchmarks time step by step.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ContainerConfig, NamespaceMode, PodSandboxConfig } from '../../api/runtime/v1/api';
import type { CriClient } from '../../pkg/criclient/client';
import { runPool } from './pool';
import type { CriRuntime } from './runtime';

/**
 * A container whose init exits at once on SIGTERM (busybox sh as pid 1 ignores
 * it otherwise). It says "ready" on stdout and in /ready once the trap is set:
 * a SIGTERM before that would be ignored and cost the whole stop timeout.
 */
export const SLEEP_TERMINABLE = ['/bin/sh', '-c', 'trap "exit 0" TERM; echo ready; : > /ready; sleep 3600 & wait'];
/** The plainest long-running container. */
export const SLEEP = ['/bin/sleep', '3600'];

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

const podNamespaces = { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD, targetId: '', usernsOptions: undefined };

export function podConfig(rt: CriRuntime, name: string): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name, namespace: 'krill-bench', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    logDirectory: join(rt.podLogRoot, name),
    labels: { 'krill.bench/pod': name },
    linux: {
      cgroupParent: `${rt.cgroupRoot}/${rt.name}-${name}`,
      securityContext: { namespaceOptions: podNamespaces },
    },
  });
}

export function containerConfig(name: string, image: string, command: string[]): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name, attempt: 0 },
    image: { image },
    command,
    logPath: `${name}.log`,
    labels: { 'krill.bench/container': name },
    linux: { securityContext: { namespaceOptions: podNamespaces } },
  });
}

/** Waits (polling every 2 ms) until `file` exists and contains `text`. */
export async function waitForText(file: string, text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const content = await readFile(file, 'utf8').catch(() => '');
    if (content.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`${file} did not say ${JSON.stringify(text)} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** kubelet makes the pod's log directory before RunPodSandbox; so does the bench (untimed). */
export async function preparePodDir(config: PodSandboxConfig): Promise<void> {
  await mkdir(config.logDirectory, { recursive: true });
}

export async function removePodDir(config: PodSandboxConfig): Promise<void> {
  await rm(config.logDirectory, { recursive: true, force: true });
}

export async function pullImage(client: CriClient, image: string): Promise<string> {
  const r = await client.image.pullImage({ image: { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' }, auth: undefined, sandboxConfig: undefined });
  return r.imageRef;
}

export const LIFECYCLE_STEPS = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'StopPodSandbox', 'RemovePodSandbox'] as const;
export type LifecycleStep = (typeof LIFECYCLE_STEPS)[number];
export type StepTimes = Record<LifecycleStep, number> & { total: number };

/**
 * One pod through its whole life: run → create → start → stop → remove,
 * each CRI call timed. The pod's log directory is made and removed around it,
 * untimed, as kubelet does; so is the wait for the container to be ready.
 */
export async function podLifecycle(
  rt: CriRuntime,
  client: CriClient,
  image: string,
  stopTimeoutS: number,
  /** Untimed, once the container is ready (e.g. an exec into it). */
  whileRunning?: (containerId: string) => Promise<void>,
): Promise<StepTimes> {
  const name = uniqueName('lc');
  const config = podConfig(rt, name);
  await preparePodDir(config);
  const t: Partial<StepTimes> = {};
  const step = async <T>(s: LifecycleStep, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const v = await fn();
    t[s] = performance.now() - start;
    return v;
  };
  let podId = '';
  try {
    podId = (await step('RunPodSandbox', () => client.runtime.runPodSandbox({ config, runtimeHandler: '' }))).podSandboxId;
    const { containerId } = await step('CreateContainer', () =>
      client.runtime.createContainer({ podSandboxId: podId, config: containerConfig('sleep', image, SLEEP_TERMINABLE), sandboxConfig: config }),
    );
    await step('StartContainer', () => client.runtime.startContainer({ containerId }));
    // Untimed: until the container's trap is set (as kubelet would not stop a container the instant it started).
    await waitForText(join(config.logDirectory, 'sleep.log'), ' ready');
    await whileRunning?.(containerId);
    await step('StopContainer', () => client.runtime.stopContainer({ containerId, timeout: BigInt(stopTimeoutS) }));
    await step('RemoveContainer', () => client.runtime.removeContainer({ containerId }));
    await step('StopPodSandbox', () => client.runtime.stopPodSandbox({ podSandboxId: podId }));
    await step('RemovePodSandbox', () => client.runtime.removePodSandbox({ podSandboxId: podId }));
    podId = '';
  } finally {
    if (podId) {
      // A step failed: take the pod down (untimed) so that nothing is left for the next iteration.
      await client.runtime.stopPodSandbox({ podSandboxId: podId }).catch(() => undefined);
      await client.runtime.removePodSandbox({ podSandboxId: podId }).catch(() => undefined);
    }
    await removePodDir(config);
  }
  const total = LIFECYCLE_STEPS.reduce((sum, s) => sum + t[s]!, 0);
  return { ...(t as Record<LifecycleStep, number>), total };
}

export interface BenchPod {
  name: string;
  config: PodSandboxConfig;
  podId: string;
  containerIds: string[];
}

/**
 * Creates `pods` pods with `containersPerPod` containers each (started or
 * only created), `concurrency` pods at a time, each worker on its own
 * connection. Whatever is left on a failure is
 * removed by the runtime's teardown.
 */
export async function createPods(
  rt: CriRuntime,
  opts: { pods: number; containersPerPod: number; image: string; command: string[]; start: boolean; concurrency: number; signal: AbortSignal; prefix: string },
): Promise<BenchPod[]> {
  return runPool<CriClient, BenchPod>({
    count: opts.pods,
    workers: opts.concurrency,
    makeWorker: () => rt.connect(),
    closeWorker: (c) => c.close(),
    signal: opts.signal,
    job: async (client) => {
      const name = uniqueName(opts.prefix);
      const config = podConfig(rt, name);
      await preparePodDir(config);
      const { podSandboxId } = await client.runtime.runPodSandbox({ config, runtimeHandler: '' });
      const containerIds: string[] = [];
      for (let i = 0; i < opts.containersPerPod; i++) {
        const { containerId } = await client.runtime.createContainer({ podSandboxId, config: containerConfig(`c${i}`, opts.image, opts.command), sandboxConfig: config });
        if (opts.start) await client.runtime.startContainer({ containerId });
        containerIds.push(containerId);
      }
      return { name, config, podId: podSandboxId, containerIds };
    },
  });
}

/** Stops (no grace period) and removes the pods, `concurrency` at a time. */
export async function removePods(rt: CriRuntime, pods: readonly BenchPod[], concurrency: number): Promise<void> {
  await runPool<CriClient, void>({
    count: pods.length,
    workers: concurrency,
    makeWorker: () => rt.connect(),
    closeWorker: (c) => c.close(),
    job: async (client, i) => {
      const p = pods[i]!;
      for (const containerId of p.containerIds) await client.runtime.stopContainer({ containerId, timeout: 0n });
      await client.runtime.stopPodSandbox({ podSandboxId: p.podId });
      await client.runtime.removePodSandbox({ podSandboxId: p.podId });
      await removePodDir(p.config);
    },
  });
}
