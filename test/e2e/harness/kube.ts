// Helpers of the e2e tests: kubectl against the test bed (hack/testbed), a
// namespace per test file, polling with deadlines (never fixed sleeps).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../harness/paths';

/** What `hack/testbed env` prints, read once by the global setup and passed on in the environment. */
export const TESTBED = {
  kubeconfig: process.env.KUBECONFIG ?? '/var/lib/krill-testbed/admin.kubeconfig',
  bin: process.env.KRILL_TESTBED_BIN ?? '/var/cache/krill-testbed/bin',
  runtimeEndpoint: process.env.CONTAINER_RUNTIME_ENDPOINT ?? 'unix:///run/krill-testbed/krill.sock',
  registry: process.env.KRILL_TEST_REGISTRY ?? '127.0.0.1:5055',
};

export const TESTBED_SCRIPT = join(REPO_ROOT, 'hack/testbed');

/** A test image of hack/test-images in the local registry (busybox based). */
export function image(name: string): string {
  return `${TESTBED.registry}/krill-test/${name}:latest`;
}
/** busybox with sh, sleep, nc, wget, httpd, tar. */
export const BUSYBOX = image('layered');
/** busybox httpd serving /www on port 80 (its image's command). */
export const HTTPD = image('httpd');

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

function exec(file: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000, env: { ...process.env, KUBECONFIG: TESTBED.kubeconfig, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ stdout, stderr: stderr || (err && code !== 0 && !stderr ? String(err.message) : stderr), code });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** kubectl ARGS; resolves its result whatever the exit code. */
export function kubectlRaw(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return exec(join(TESTBED.bin, 'kubectl'), args, opts);
}

/** kubectl ARGS; resolves stdout, rejects with stderr on a non-zero exit. */
export async function kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await kubectlRaw(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export function crictl(args: string[]): Promise<string> {
  return exec(join(TESTBED.bin, 'crictl'), ['--runtime-endpoint', TESTBED.runtimeEndpoint, '--image-endpoint', TESTBED.runtimeEndpoint, ...args]).then((r) => {
    if (r.code !== 0) throw new Error(`crictl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  });
}

/** hack/testbed ARGS (restart NAME, status, ...). */
export async function testbed(...args: string[]): Promise<string> {
  const r = await exec(TESTBED_SCRIPT, args, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`hack/testbed ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export function nodeName(): string {
  return readFileSync('/var/lib/krill-testbed/node', 'utf8').trim();
}

/** kubectl apply of one or more objects (JSON). */
export async function apply(ns: string, ...objects: object[]): Promise<void> {
  await kubectl(['-n', ns, 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
}

export async function getJson<T = Record<string, any>>(ns: string | undefined, ...what: string[]): Promise<T> {
  return JSON.parse(await kubectl([...(ns ? ['-n', ns] : []), 'get', ...what, '-o', 'json'])) as T;
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs` with the last state. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 120_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export type Pod = Record<string, any>;

export function getPod(ns: string, name: string): Promise<Pod> {
  return getJson<Pod>(ns, 'pod', name);
}

export function containerStatus(pod: Pod, name: string, init = false): Record<string, any> | undefined {
  const list = (init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses) as Record<string, any>[] | undefined;
  return list?.find((c) => c.name === name);
}

export function podReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

/** Waits until the pod is Running and Ready; returns it. */
export function waitPodReady(ns: string, name: string, timeoutMs = 120_000): Promise<Pod> {
  return waitFor(`pod ${ns}/${name} to be Ready`, async () => {
    const p = await getPod(ns, name);
    return p.status?.phase === 'Running' && podReady(p) ? p : undefined;
  }, timeoutMs);
}

export function waitPodPhase(ns: string, name: string, phase: string, timeoutMs = 120_000): Promise<Pod> {
  return waitFor(`pod ${ns}/${name} to be ${phase}`, async () => {
    const p = await getPod(ns, name);
    return p.status?.phase === phase ? p : undefined;
  }, timeoutMs);
}

/** A pod spec with kubelet-friendly defaults: short grace period, images from the test registry. */
export function pod(name: string, spec: Record<string, any>, meta: Record<string, any> = {}): Record<string, any> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...meta },
    spec: { terminationGracePeriodSeconds: 1, ...spec },
  };
}

/** A container running `script` under sh. */
export function shContainer(name: string, script: string, extra: Record<string, any> = {}): Record<string, any> {
  return { name, image: BUSYBOX, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...extra };
}

/** A namespace of the test file's own; deleted (with everything in it) by `cleanup`. */
export class Namespace {
  readonly name: string;
  constructor(prefix: string) {
    this.name = `e2e-${prefix}-${randomBytes(3).toString('hex')}`;
  }
  async create(): Promise<void> {
    await kubectl(['create', 'namespace', this.name]);
    await waitFor(`the default service account in ${this.name}`, async () => (await kubectlRaw(['-n', this.name, 'get', 'serviceaccount', 'default'])).code === 0);
  }
  async cleanup(): Promise<void> {
    await kubectl(['delete', 'namespace', this.name, '--wait=true', '--timeout=180s', '--ignore-not-found'], { timeoutMs: 200_000 });
  }
}

/** A long-running child (kubectl logs -f, port-forward, attach) whose output is collected. */
export class Background {
  readonly child: ChildProcess;
  out = '';
  err = '';
  private exitCode: number | null | undefined;
  private readonly exitedP: Promise<number | null>;
  constructor(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(file, args, { env: { ...process.env, KUBECONFIG: TESTBED.kubeconfig, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.exitedP = new Promise((resolve) => this.child.on('exit', (code) => resolve((this.exitCode = code))));
  }
  static kubectl(args: string[]): Background {
    return new Background(join(TESTBED.bin, 'kubectl'), args);
  }
  get exited(): boolean {
    return this.exitCode !== undefined;
  }
  waitOutput(what: string, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return waitFor(`${what} (output so far: ${JSON.stringify(this.out.slice(-300))}, stderr: ${JSON.stringify(this.err.slice(-300))})`, async () => this.out.match(re) ?? undefined, timeoutMs, 200);
  }
  write(s: string): void {
    this.child.stdin!.write(s);
  }
  wait(): Promise<number | null> {
    return this.exitedP;
  }
  async stop(): Promise<void> {
    if (!this.exited) this.child.kill('SIGTERM');
    await this.exitedP;
  }
}
