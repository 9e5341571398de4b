// list: ListContainers and ListPodSandbox latency as the node fills up
// (kubelet's PLEG relists every second). Containers are created but not
// started: listing cost depends on how many there are, not on what they do,
// and created containers keep the bench fast. Both runtimes hold their
// containers at the same time and take turns call by call.
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
  /** Calls of each RPC per size and runtime. */
  calls: 200,
};

interface Point {
  containers: number;
  pods: number;
  listContainers: Summary;
  listPodSandbox: Summary;
}

type Call = 'listContainers' | 'listPodSandbox';

async function timeOnce(rt: CriRuntime, call: Call): Promise<number> {
  const start = performance.now();
  if (call === 'listContainers') await rt.client.runtime.listContainers({ filter: undefined });
  else await rt.client.runtime.listPodSandbox({ filter: undefined });
  return performance.now() - start;
}

/** `calls` calls of each kind to every runtime, the runtimes alternating call by call. */
async function timeInTurns(ctx: BenchContext, rts: CriRuntime[], calls: number): Promise<Map<CriRuntime, Record<Call, Summary>>> {
  const out = new Map<CriRuntime, Record<Call, Summary>>();
  const samples = new Map(rts.map((rt) => [rt, { listContainers: [] as number[], listPodSandbox: [] as number[] }]));
  for (const call of ['listContainers', 'listPodSandbox'] as const) {
    for (const rt of rts) for (let i = 0; i < PARAMS.warmup; i++) await timeOnce(rt, call);
    for (let i = 0; i < calls; i++) {
      ctx.cleanup.check();
      for (let j = 0; j < rts.length; j++) {
        const rt = rts[(i + j) % rts.length]!;
        samples.get(rt)![call].push(await timeOnce(rt, call));
      }
    }
  }
  for (const [rt, s] of samples) out.set(rt, { listContainers: summarize(s.listContainers), listPodSandbox: summarize(s.listPodSandbox) });
  return out;
}

export async function listBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const sizes = PARAMS.sizes.map((s) => scaled(ctx, s, PARAMS.containersPerPod));
  const calls = scaled(ctx, PARAMS.calls, 20);
  const rts = [ctx.krill, ctx.containerd];
  const pods = new Map<CriRuntime, BenchPod[]>(rts.map((rt) => [rt, []]));
  const points = new Map<CriRuntime, Point[]>(rts.map((rt) => [rt, []]));
  try {
    for (const size of sizes) {
      for (const rt of rts) {
        const have = pods.get(rt)!;
        const want = Math.ceil(size / PARAMS.containersPerPod) - have.length;
        const start = performance.now();
        have.push(...(await createPods(rt, { pods: want, containersPerPod: PARAMS.containersPerPod, image: ctx.images.busybox, command: SLEEP, start: false, concurrency: PARAMS.createConcurrency, signal: ctx.cleanup.signal, prefix: 'ls' })));
        const containers = have.length * PARAMS.containersPerPod;
        log(`list: ${rt.name}: ${have.length} pods, ${containers} containers (${((performance.now() - start) / 1000).toFixed(1)} s to add)`);
        const listed = await rt.client.runtime.listContainers({ filter: undefined });
        if (listed.containers.length !== containers) throw new Error(`${rt.name} lists ${listed.containers.length} containers, expected ${containers}`);
      }
      const timed = await timeInTurns(ctx, rts, calls);
      for (const rt of rts) {
        const n = pods.get(rt)!.length;
        points.get(rt)!.push({ containers: n * PARAMS.containersPerPod, pods: n, ...timed.get(rt)! });
      }
    }
  } finally {
    for (const [rt, made] of pods) await removePods(rt, made, PARAMS.createConcurrency);
  }
  const k = points.get(ctx.krill)!;
  const c = points.get(ctx.containerd)!;
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
    params: { sizes: sizes.join('/'), containersPerPod: PARAMS.containersPerPod, calls, warmup: PARAMS.warmup },
    tables: [{ title: 'ListContainers and ListPodSandbox latency (no filter)', rows }],
    details: { krill: k, containerd: c },
    notes: [`${PARAMS.containersPerPod} containers per pod, created and not started; calls one after the other on one connection, the two runtimes taking turns.`],
  };
}
