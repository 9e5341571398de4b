// list: ListContainers and ListPodSandbox latency as the node fills up
// (kubelet's PLEG relists every second). Containers are created but not
// started: listing cost depends on how many there are, not on what they do,
// and created containers keep the bench fast.
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { createPods, removePods, SLEEP, type BenchPod } from './lib/cri';
import { log } from './lib/log';
import { latencyRows, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  /** Container counts at which the calls are timed. */
  sizes: [100, 500],
  containersPerPod: 5,
  createConcurrency: 4,
  warmup: 10,
  /** Calls of each RPC per size. */
  calls: 200,
};

interface Point {
  containers: number;
  pods: number;
  listContainers: Summary;
  listPodSandbox: Summary;
}

async function timeCalls(n: number, fn: () => Promise<unknown>): Promise<Summary> {
  for (let i = 0; i < PARAMS.warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return summarize(samples);
}

async function measure(ctx: BenchContext, rt: CriRuntime, sizes: number[]): Promise<Point[]> {
  const calls = scaled(ctx, PARAMS.calls, 20);
  const pods: BenchPod[] = [];
  const points: Point[] = [];
  try {
    for (const size of sizes) {
      const want = Math.ceil(size / PARAMS.containersPerPod) - pods.length;
      const start = performance.now();
      pods.push(...(await createPods(rt, { pods: want, containersPerPod: PARAMS.containersPerPod, image: ctx.images.busybox, command: SLEEP, start: false, concurrency: PARAMS.createConcurrency, signal: ctx.cleanup.signal, prefix: 'ls' })));
      const containers = pods.length * PARAMS.containersPerPod;
      log(`list: ${rt.name}: ${pods.length} pods, ${containers} containers (${((performance.now() - start) / 1000).toFixed(1)} s to add)`);
      const listed = await rt.client.runtime.listContainers({ filter: undefined });
      if (listed.containers.length !== containers) throw new Error(`${rt.name} lists ${listed.containers.length} containers, expected ${containers}`);
      const listContainers = await timeCalls(calls, () => rt.client.runtime.listContainers({ filter: undefined }));
      const listPodSandbox = await timeCalls(calls, () => rt.client.runtime.listPodSandbox({ filter: undefined }));
      points.push({ containers, pods: pods.length, listContainers, listPodSandbox });
      ctx.cleanup.check();
    }
    return points;
  } finally {
    await removePods(rt, pods, PARAMS.createConcurrency);
  }
}

export async function listBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const sizes = PARAMS.sizes.map((s) => scaled(ctx, s, PARAMS.containersPerPod));
  const k = await measure(ctx, ctx.krill, sizes);
  const c = await measure(ctx, ctx.containerd, sizes);
  const largest = sizes[sizes.length - 1]!;
  const rows: Row[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const goal = sizes[i] === largest ? { text: '< 5 ms', met: (ks: Summary) => ks.median < 5 } : undefined;
    rows.push(...latencyRows(`ListContainers, ${k[i]!.containers} containers`, k[i]!.listContainers, c[i]!.listContainers, undefined, goal));
    rows.push(...latencyRows(`ListPodSandbox, ${k[i]!.pods} pods`, k[i]!.listPodSandbox, c[i]!.listPodSandbox, undefined, goal));
  }
  return {
    name: 'list',
    title: 'List calls as the node fills up',
    params: { sizes: sizes.join('/'), containersPerPod: PARAMS.containersPerPod, calls: scaled(ctx, PARAMS.calls, 20), warmup: PARAMS.warmup },
    tables: [{ title: 'ListContainers and ListPodSandbox latency (no filter)', rows }],
    details: { krill: k, containerd: c },
    notes: [`${PARAMS.containersPerPod} containers per pod, created and not started; calls one after the other on one connection.`],
  };
}
