// A krilld with pods to run containers in, for the container integration
// tests: pods under this file's cgroup parent with a log directory, container
// create/run/exec helpers, and one cleanup for all of it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerStatus, PodSandboxConfig } from '../../api/runtime/v1/api';
import type { CriClient } from '../../pkg/criclient/client';
import { removeTestCgroups } from './cgroups';
import { containerConfig, pull, readLog, startContainerKrilld, status, waitExited, type ContainerConfigInit } from './containers';
import type { Krilld, KrilldOptions } from './krilld';
import { testCgroupParent } from './paths';
import { podConfig, runRequest, uniqueName, type PodOptions } from './pods';

export interface RunResult {
  id: string;
  status: ContainerStatus;
  stdout: string;
  stderr: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A pod of the fixture's krilld. */
export class TestPod {
  constructor(
    readonly client: CriClient,
    readonly id: string,
    readonly config: PodSandboxConfig,
    readonly logDir: string,
  ) {}

  /** CreateContainer with a log path named after the container. */
  async create(name: string, image: string, extra: ContainerConfigInit = {}): Promise<string> {
    const config = containerConfig(name, image, { logPath: `${name}.log`, ...extra });
    return (await this.client.runtime.createContainer({ podSandboxId: this.id, config, sandboxConfig: this.config })).containerId;
  }

  /** Creates and starts a container (a long-running one, usually). */
  async start(name: string, image: string, extra: ContainerConfigInit = {}): Promise<string> {
    const id = await this.create(name, image, extra);
    await this.client.runtime.startContainer({ containerId: id });
    return id;
  }

  /** Runs a container to its exit; returns its status and output, and removes it. */
  async run(name: string, image: string, extra: ContainerConfigInit = {}): Promise<RunResult> {
    const id = await this.start(name, image, extra);
    const s = await waitExited(this.client, id);
    const out = s.logPath ? readLog(s.logPath) : { stdout: '', stderr: '' };
    await this.client.runtime.removeContainer({ containerId: id });
    return { id, status: s, ...out };
  }

  /** Runs a shell command in a fresh container; returns its output. */
  sh(name: string, image: string, script: string, extra: ContainerConfigInit = {}): Promise<RunResult> {
    return this.run(name, image, { command: ['sh', '-c', script], ...extra });
  }

  async exec(id: string, cmd: string[], timeoutSeconds = 10): Promise<ExecResult> {
    const r = await this.client.runtime.execSync({ containerId: id, cmd, timeout: BigInt(timeoutSeconds) });
    return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  status(id: string): Promise<ContainerStatus> {
    return status(this.client, id);
  }

  /** ContainerStatus verbose info: pid, cgroup, runtime spec... */
  async info(id: string): Promise<{ pid: number; cgroup: string; runtimeHandler: string; runtimeSpec: Record<string, unknown> }> {
    const r = await this.client.runtime.containerStatus({ containerId: id, verbose: true });
    return JSON.parse(r.info.info!) as { pid: number; cgroup: string; runtimeHandler: string; runtimeSpec: Record<string, unknown> };
  }
}

export interface PodFixtureOptions extends PodOptions {
  handler?: string;
  /** Replaces fields of the pod config (linux.securityContext is merged one level down). */
  privileged?: boolean;
  extra?: Partial<PodSandboxConfig>;
}

export interface ContainerFixture {
  k: Krilld;
  client: CriClient;
  /** The cgroup parent every pod of this fixture lives under. */
  cgroupParent: string;
  pod(opts?: PodFixtureOptions): Promise<TestPod>;
  /** Makes cleanup() stop and remove a pod created some other way (crictl). */
  adopt(podId: string): void;
  /** Stops and removes every pod (and so their containers), krilld, and the test cgroups. */
  cleanup(): Promise<void>;
}

/** A krilld that has pulled `images`; `tag` names this file's cgroups. */
export async function containerFixture(tag: string, images: string[], opts: KrilldOptions = {}): Promise<ContainerFixture> {
  const cgroupParent = testCgroupParent(uniqueName(tag));
  const k = await startContainerKrilld(opts);
  const pods: string[] = [];
  try {
    for (const image of images) await pull(k.client, image);
  } catch (err) {
    await k.cleanup();
    throw err;
  }
  const fixture: ContainerFixture = {
    k,
    client: k.client,
    cgroupParent,
    async pod(o: PodFixtureOptions = {}) {
      const name = o.name ?? uniqueName(tag);
      const logDir = join(k.dir, 'logs', name);
      mkdirSync(logDir, { recursive: true });
      const config = podConfig({ ...o, name, cgroupParent: o.cgroupParent ?? `${cgroupParent}/${name}` }, { logDirectory: logDir, ...o.extra });
      if (o.privileged) config.linux!.securityContext!.privileged = true;
      const id = (await k.client.runtime.runPodSandbox(runRequest(config, o.handler ?? ''))).podSandboxId;
      pods.push(id);
      return new TestPod(k.client, id, config, logDir);
    },
    adopt(podId: string) {
      pods.push(podId);
    },
    async cleanup() {
      const errors: unknown[] = [];
      for (const id of pods) {
        try {
          await k.client.runtime.stopPodSandbox({ podSandboxId: id });
          await k.client.runtime.removePodSandbox({ podSandboxId: id });
        } catch (err) {
          errors.push(err);
        }
      }
      await k.cleanup();
      removeTestCgroups(cgroupParent);
      if (errors.length > 0) throw errors[0];
    },
  };
  return fixture;
}

/** The value of `key:` in a /proc/<pid>/status text. */
export function statusField(text: string, key: string): string | undefined {
  return new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
}
