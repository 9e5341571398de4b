// kubelet: pod startup latency through a real kubelet (the test bed's build,
// hack/testbed), Krill against containerd behind the same kubelet, control
// plane and node settings. A pod's startup latency is what kubelet's pod
// startup SLI measures: from the Pod's creation to the moment the API shows
// all its containers running (the image is on the node beforehand), here
// timed by the client from its POST to the watch event.
//
// Usage: node dist/bench/kubelet.js [--quick] [--out DIR]   (hack/run-bench kubelet)
// Needs root, the test bed's tools (hack/testbed build) and no test bed running
// (it starts and stops one per runtime).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Interrupted } from './lib/cleanup';
import { pullImage } from './lib/cri';
import { KubeApi, readKubeconfig, type KubeObject, type WatchEvent } from './lib/kube_api';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { describeMachine, machineLines } from './lib/machine';
import { latencyRows, markdownTable, textTable, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { openSession } from './lib/session';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  /** Pods started and discarded before measuring (per runtime). */
  warmup: 3,
  /** Pods created one after another, each once the one before runs. */
  serialPods: 30,
  /** Pods created at once. */
  burstPods: 100,
  /** A pod that is not running after this long fails the run. */
  podDeadlineS: 300,
};

const TESTBED = join(REPO_ROOT, 'hack/testbed');
const KUBECONFIG = '/var/lib/krill-testbed/admin.kubeconfig';
const NAMESPACE = 'krill-bench';

interface Pod extends KubeObject {
  status?: { phase?: string; containerStatuses?: { state?: { running?: unknown } }[] };
}

function running(p: Pod): boolean {
  const cs = p.status?.containerStatuses ?? [];
  return p.status?.phase === 'Running' && cs.length > 0 && cs.every((c) => c.state?.running !== undefined);
}

function podManifest(name: string, image: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { app: 'krill-bench' } },
    spec: {
      terminationGracePeriodSeconds: 2,
      enableServiceLinks: false,
      containers: [{ name: 'sleep', image, imagePullPolicy: 'IfNotPresent', command: ['/bin/sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'] }],
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns true, every 250 ms, up to `seconds`. */
async function until(what: string, seconds: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await sleep(250);
  }
}

/** The running-times of the pods of the bench namespace, as the watch delivers them. */
class RunningWatch {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();
  private closer?: { close(): void };
  private lastVersion?: string;
  private closed = false;
  /** Times the server ended the watch and it was resumed. */
  resumed = 0;

  async start(api: KubeApi): Promise<void> {
    const from = this.lastVersion ? `?resourceVersion=${this.lastVersion}` : '';
    this.closer = await api.watch<Pod>(
      `/api/v1/namespaces/${NAMESPACE}/pods${from}`,
      (e: WatchEvent<Pod>) => {
        if (e.type === 'ERROR') {
          // Resuming from a version the server no longer has: start over (every pod is listed again as ADDED).
          this.lastVersion = undefined;
          return;
        }
        if (e.object.metadata.resourceVersion) this.lastVersion = e.object.metadata.resourceVersion;
        if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
        const name = e.object.metadata.name;
        if (this.seen.has(name) || !running(e.object)) return;
        const t = performance.now();
        this.seen.set(name, t);
        this.waiters.get(name)?.(t);
      },
      () => {
        if (this.closed) return;
        this.resumed++;
        log(`the API server ended the pod watch; resuming from version ${this.lastVersion ?? '(none)'}`);
        void this.start(api).catch((err: unknown) => log(`resuming the pod watch: ${(err as Error).message}`));
      },
    );
  }

  /** When `name` was first seen running. */
  runningAt(name: string): Promise<number> {
    const t = this.seen.get(name);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pod ${name} not running after ${PARAMS.podDeadlineS} s`)), PARAMS.podDeadlineS * 1000);
      this.waiters.set(name, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.closer?.close();
  }
}

interface RuntimeResult {
  serial: Summary;
  burst: Summary;
  /** From the first POST of the burst to the last pod running. */
  burstAllMs: number;
  /** Times the API server ended the watch (resumed from its last version). */
  watchResumed: number;
  nodeRuntime: string;
}

async function createPod(api: KubeApi, name: string, image: string): Promise<number> {
  const t0 = performance.now();
  await api.call('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, podManifest(name, image));
  return t0;
}

async function deleteAllPods(api: KubeApi): Promise<void> {
  await api.call('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods?gracePeriodSeconds=2`);
  await until('the bench pods to be gone', 300, async () => {
    const list = await api.call<{ items: Pod[] }>('GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
    return list.items.length === 0;
  });
}

function testbed(args: string[], endpoint?: string): string {
  const env = { ...process.env, ...(endpoint ? { KRILL_TESTBED_RUNTIME_ENDPOINT: `unix://${endpoint}` } : {}) };
  return execFileSync(TESTBED, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function measure(rt: CriRuntime, image: string, scale: number): Promise<RuntimeResult> {
  log(`${rt.name}: starting the test bed with kubelet on ${rt.endpoint}`);
  testbed(['up'], rt.endpoint);
  const api = new KubeApi(readKubeconfig(KUBECONFIG));
  const nodes = await api.call<{ items: { status?: { nodeInfo?: { containerRuntimeVersion?: string } } }[] }>('GET', '/api/v1/nodes');
  const nodeRuntime = nodes.items[0]?.status?.nodeInfo?.containerRuntimeVersion ?? 'unknown';
  log(`${rt.name}: node runs ${nodeRuntime}`);
  await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }, [409]);
  await until('the default service account', 60, async () => {
    const sa = await api.call<{ metadata?: { name?: string } }>('GET', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`, undefined, [404]);
    return sa.metadata?.name === 'default';
  });
  const watch = new RunningWatch();
  await watch.start(api);
  try {
    const n = (k: number): number => Math.max(1, Math.round(k * scale));
    for (let i = 0; i < PARAMS.warmup; i++) {
      const name = `warm-${i}`;
      await createPod(api, name, image);
      await watch.runningAt(name);
    }
    await deleteAllPods(api);

    log(`${rt.name}: ${n(PARAMS.serialPods)} pods one after another`);
    const serial: number[] = [];
    for (let i = 0; i < n(PARAMS.serialPods); i++) {
      const name = `serial-${i}`;
      const t0 = await createPod(api, name, image);
      serial.push((await watch.runningAt(name)) - t0);
    }
    await deleteAllPods(api);

    log(`${rt.name}: ${n(PARAMS.burstPods)} pods at once`);
    const names = Array.from({ length: n(PARAMS.burstPods) }, (_, i) => `burst-${i}`);
    const starts = await Promise.all(names.map((name) => createPod(api, name, image)));
    const ends = await Promise.all(names.map((name) => watch.runningAt(name)));
    const burst = ends.map((t, i) => t - starts[i]!);
    const burstAllMs = Math.max(...ends) - Math.min(...starts);
    return { serial: summarize(serial), burst: summarize(burst), burstAllMs, nodeRuntime, watchResumed: watch.resumed };
  } finally {
    watch.close();
    await deleteAllPods(api).catch((err: unknown) => log(`${rt.name}: deleting the bench pods: ${(err as Error).message}`));
    log(`${rt.name}: stopping the test bed`);
    testbed(['down']);
  }
}

function rows(k: RuntimeResult, c: RuntimeResult): Row[] {
  return [
    ...latencyRows('serial pod startup (Pod created → running)', k.serial, c.serial, undefined, { text: 'at or below containerd', met: (a, b) => b !== undefined && a.median <= b.median }),
    ...latencyRows('burst pod startup, per pod', k.burst, c.burst, undefined, { text: 'at or below containerd', met: (a, b) => b !== undefined && a.median <= b.median }),
    { metric: 'burst: first POST → last pod running', unit: 'ms', krill: k.burstAllMs, containerd: c.burstAllMs },
  ];
}

export async function kubeletBench(scale: number): Promise<Omit<BenchResult, 'seconds'>> {
  if (existsSync('/run/krill-testbed') || existsSync('/var/lib/krill-testbed')) {
    throw new Error('a test bed is up (or left behind): the benchmark starts its own; run hack/testbed down first');
  }
  const registry = process.env.KRILL_TEST_REGISTRY || '127.0.0.1:5055';
  const image = process.env.KRILL_BENCH_BUSYBOX || `${registry}/krill-test/compress-gzip:latest`;
  const pause = process.env.KRILL_BENCH_PAUSE || `${registry}/krill-bench/pause:latest`;
  const session = await openSession({ name: 'kubelet', registry });
  let failed = false;
  try {
    const { krill, containerd } = await session.startRuntimes({ pauseImage: pause });
    await pullImage(krill.client, image);
    await pullImage(containerd.client, image);
    await pullImage(containerd.client, pause);
    const k = await measure(krill, image, scale);
    const c = await measure(containerd, image, scale);
    return {
      name: 'kubelet',
      title: 'Pod startup through kubelet',
      params: { ...PARAMS, serialPods: Math.round(PARAMS.serialPods * scale), burstPods: Math.round(PARAMS.burstPods * scale) },
      tables: [{ title: 'pod startup latency', rows: rows(k, c) }],
      details: { krill: k, containerd: c },
      notes: [
        `the test bed's kubelet, control plane and node settings for both (hack/testbed, KRILL_TESTBED_RUNTIME_ENDPOINT); the node reported ${k.nodeRuntime} and ${c.nodeRuntime}`,
        'latency: from the client starting the Pod POST to the watch event showing every container running (the image is on the node, as the pod startup SLI excludes pulls); the burst POSTs all 100 at once',
        'both runtimes are the bench\'s own (same network chain, cgroupfs, the local registry); containerd runs the bench\'s catatonit pause image, Krill pins namespaces without one',
      ],
    };
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    failed = (await session.close(failed)) || failed;
    if (failed) log('the kubelet benchmark left something behind or failed (see above)');
  }
}

// ---- standalone
async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let out: string | undefined;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else if (argv[i] === '--quick') quick = true;
    else throw new Error(`unknown argument ${argv[i]} (usage: node dist/bench/kubelet.js [--quick] [--out DIR])`);
  }
  if (process.getuid?.() !== 0) throw new Error('the kubelet benchmark must run as root');
  const start = performance.now();
  let result: BenchResult;
  try {
    result = { ...(await kubeletBench(quick ? 0.1 : 1)), seconds: 0 };
  } catch (err) {
    if (err instanceof Interrupted) log('interrupted');
    else log(`the run failed: ${(err as Error).stack ?? err}`);
    return 1;
  }
  result.seconds = (performance.now() - start) / 1000;
  process.stdout.write(`\n== ${result.title} (${result.seconds.toFixed(0)} s)\n`);
  for (const t of result.tables) process.stdout.write(`${textTable(t)}\n\n`);
  for (const n of result.notes) process.stdout.write(`  - ${n}\n`);
  const dir = out ?? (quick ? await mkdtemp('/tmp/krill-bench-kubelet-') : join(REPO_ROOT, 'bench', 'results'));
  await mkdir(dir, { recursive: true });
  const machine = await describeMachine(REPO_ROOT);
  await writeFile(join(dir, 'kubelet.json'), `${JSON.stringify({ machine, benchmark: result }, null, 2)}\n`);
  await writeFile(join(dir, 'kubelet.md'), [`# ${result.title}`, '', ...machineLines(machine).map((l) => `- ${l}`), `- run: \`hack/run-bench kubelet\`${quick ? ' --quick' : ''}; took ${result.seconds.toFixed(0)} s`, '', ...result.tables.map(markdownTable), '', ...result.notes.map((n) => `- ${n}`), ''].join('\n'));
  log(`results written to ${dir}/kubelet.{json,md}`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`fatal: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
