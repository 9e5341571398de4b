// Pod sandbox helpers for integration tests: request builders with unique
// names and test-run cgroup parents, verbose info, and running a command
// inside a pod's pinned network namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NamespaceMode, PodSandboxConfig, type RunPodSandboxRequest } from '../../api/runtime/v1/api';
import type { CriClient } from '../../pkg/criclient/client';
import { testCgroupParent } from './paths';

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface PodOptions {
  name?: string;
  hostNetwork?: boolean;
  hostIpc?: boolean;
  sharePid?: boolean;
  /** Replaces the test-run cgroup parent; '' sends none. */
  cgroupParent?: string;
}

/** A pod config like kubelet's, under this run's cgroup parent. */
export function podConfig(opts: PodOptions = {}, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  const name = opts.name ?? uniqueName('pod');
  const base = PodSandboxConfig.fromPartial({
    metadata: { name, namespace: 'krill-test', uid: `uid-${name}` },
    hostname: name,
    labels: { 'krill.test/name': name },
    linux: {
      cgroupParent: opts.cgroupParent ?? testCgroupParent(name),
      securityContext: {
        namespaceOptions: {
          network: opts.hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD,
          pid: opts.sharePid ? NamespaceMode.POD : NamespaceMode.CONTAINER,
          ipc: opts.hostIpc ? NamespaceMode.NODE : NamespaceMode.POD,
        },
      },
    },
  });
  return { ...base, ...extra };
}

export function runRequest(config: PodSandboxConfig, runtimeHandler = ''): RunPodSandboxRequest {
  return { config, runtimeHandler };
}

/** What PodSandboxStatus verbose says under "info". */
export interface PodInfo {
  namespaces: { network?: string; ipc?: string; uts?: string; user?: string };
  paths: { dir: string; runDir: string; hostname: string; hosts: string; resolvConf: string; shm: string; nsDir: string };
  cgroupPath: string;
  infra?: { id: string; pid: number };
  cniResult?: unknown;
  state: string;
  reason?: string;
}

export async function podInfo(client: CriClient, id: string): Promise<PodInfo> {
  const r = await client.runtime.podSandboxStatus({ podSandboxId: id, verbose: true });
  return JSON.parse(r.info.info!) as PodInfo;
}

/** Starts `args` inside a network namespace (nsenter); the caller kills it. */
export function spawnInNetns(netns: string, args: string[]): ChildProcess {
  return spawn('nsenter', [`--net=${netns}`, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `args` inside a network namespace to completion. */
export function runInNetns(netns: string, args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnInNetns(netns, args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL');
  await done;
}

/** Waits for a TCP listener on `port` inside the namespace (ss shows it). */
export async function waitForListener(netns: string, port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await runInNetns(netns, ['ss', '-Hltn', `sport = :${port}`]);
    if (r.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} in ${netns}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Stops and removes every pod of a krilld: after a failed test, so that its cleanup can finish and the failure shows. */
export async function removeAllPods(client: CriClient): Promise<void> {
  for (const p of (await client.runtime.listPodSandbox({ filter: undefined }).catch(() => ({ items: [] }))).items) {
    await client.runtime.stopPodSandbox({ podSandboxId: p.id }).catch(() => undefined);
    await client.runtime.removePodSandbox({ podSandboxId: p.id }).catch(() => undefined);
  }
}

/**
 * Deletes the nat rules CNI made for these pods (their comments name the pod ID) and the pods' own
 * chains: what a reboot does, or the cleanup a test needs where the plugins' DEL cannot (the bridge
 * plugin tears down its masquerade rule only through the pod's interface).
 */
export function dropPodNatRules(podIds: string[]): void {
  const text = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });
  const rules = text.split('\n').filter((l) => l.startsWith('-A ') && podIds.some((id) => l.includes(id)));
  if (rules.length === 0) return;
  const chains = new Set(rules.map((l) => / -j (CNI-[0-9a-f]{24})\b/.exec(l)?.[1]).filter((c): c is string => c !== undefined));
  const script = ['*nat', ...rules.map((l) => `-D ${l.slice(3)}`), ...[...chains].flatMap((c) => [`-F ${c}`, `-X ${c}`]), 'COMMIT', ''].join('\n');
  execFileSync('iptables-restore', ['--noflush'], { input: script });
}
