// list: the calls kubelet makes over and over, as the node fills up:
// ListContainers and ListPodSandbox (PLEG relists every second),
// PodSandboxStatus and ContainerStatus (for every pod, at every sync).
// Containers are created but not started: the cost depends on how many
// there are, not on what they do, and created containers keep the bench fast;
// the pods' sandboxes run. Both runtimes hold their pods at the same time and
// take turns call by call. At the largest size each daemon is restarted and
// timed until it serves again with every pod (recovery).
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { createPods, removePods, SLEEP, type BenchPod } from './lib/cri';
import { log } from './lib/log';
import { latencyRows, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  /** Container counts at which the calls are timed. */
  sizes: [100, 500, 2500],
  containersPerPod: 5,
  createConcurrency: 4,
  warmup: 10,
  /** Calls of each RPC per size and runtime. */
  calls: 200,
};

const CALLS = ['listContainers', 'listPodSandbox', 'podSandboxStatus', 'containerStatus'] as const;
type Call = (typeof CALLS)[number];

interface Point extends Record<Call, Summary> {
  containers: number;
  pods: number;
}

/** One call; the status calls name the i-th pod or container (round robin), as kubelet walks its pods. */
async function timeOnce(rt: CriRuntime, pods: readonly BenchPod[], call: Call, i: number): Promise<number> {
  const pod = pods[i % pods.length]!;
  const start = performance.now();
  if (call === 'listContainers') await rt.client.runtime.listContainers({ filter: undefined });
  else if (call === 'listPodSandbox') await rt.client.runtime.listPodSandbox({ filter: undefined });
  else if (call === 'podSandboxStatus') await rt.client.runtime.podSandboxStatus({ podSandboxId: pod.podId, verbose: false });
  else await rt.client.runtime.containerStatus({ containerId: pod.containerIds[i % pod.containerIds.length]!, verbose: false });
  return performance.now() - start;
}

/** `calls` calls of each kind to every runtime, the runtimes alternating call by call. */
async function timeInTurns(ctx: BenchContext, rts: CriRuntime[], pods: Map<CriRuntime, BenchPod[]>, calls: number): Promise<Map<CriRuntime, Record<Call, Summary>>> {
  const samples = new Map(rts.map((rt) => [rt, Object.fromEntries(CALLS.map((c) => [c, [] as number[]])) as Record<Call, number[]>]));
  for (const call of CALLS) {
    for (const rt of rts) for (let i = 0; i < PARAMS.warmup; i++) await timeOnce(rt, pods.get(rt)!, call, i);
    for (let i = 0; i < calls; i++) {
      ctx.cleanup.check();
      for (let j = 0; j < rts.length; j++) {
        const rt = rts[(i + j) % rts.length]!;
        samples.get(rt)![call].push(await timeOnce(rt, pods.get(rt)!, call, i));
      }
    }
  }
  const out = new Map<CriRuntime, Record<Call, Summary>>();
  for (const [rt, s] of samples) out.set(rt, Object.fromEntries(CALLS.map((c) => [c, summarize(s[c])])) as Record<Call, Summary>);
  return out;
}

/** Restarts the daemon and times it until it answers ListPodSandbox with every pod: milliseconds. */
async function recovery(rt: CriRuntime, pods: number): Promise<number> {
  const started = performance.now();
  await rt.restart();
  for (;;) {
    const listed = await rt.client.runtime.listPodSandbox({ filter: undefined }).catch(() => undefined);
    if (listed && listed.items.length >= pods) return performance.now() - started;
    if (performance.now() - started > 120_000) throw new Error(`${rt.name} did not list its ${pods} pods within 120 s of a restart`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function listBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const sizes = PARAMS.sizes.map((s) => scaled(ctx, s, PARAMS.containersPerPod));
  const calls = scaled(ctx, PARAMS.calls, 20);
  const rts = [ctx.krill, ctx.containerd];
  const pods = new Map<CriRuntime, BenchPod[]>(rts.map((rt) => [rt, []]));
  const points = new Map<CriRuntime, Point[]>(rts.map((rt) => [rt, []]));
  const restartMs = new Map<CriRuntime, number>();
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
      const timed = await timeInTurns(ctx, rts, pods, calls);
      for (const rt of rts) {
        const n = pods.get(rt)!.length;
        points.get(rt)!.push({ containers: n * PARAMS.containersPerPod, pods: n, ...timed.get(rt)! });
      }
    }
    for (const rt of rts) {
      const ms = await recovery(rt, pods.get(rt)!.length);
      restartMs.set(rt, ms);
      log(`list: ${rt.name}: restarted with ${pods.get(rt)!.length} pods, serving them after ${(ms / 1000).toFixed(2)} s`);
    }
  } finally {
    for (const [rt, made] of pods) await removePods(rt, made, PARAMS.createConcurrency);
  }
  const k = points.get(ctx.krill)!;
  const c = points.get(ctx.containerd)!;
  const rows: Row[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const atMost = (text: string, met: (ks: Summary, cs?: Summary) => boolean) => ({ text, met });
    const notAbove = atMost('≤ containerd (p50)', (ks, cs) => cs !== undefined && ks.median <= cs.median);
    const status = atMost('≤ containerd and ≤ 1 ms (p50)', (ks, cs) => cs !== undefined && ks.median <= cs.median && ks.median <= 1);
    rows.push(...latencyRows(`ListContainers, ${k[i]!.containers} containers`, k[i]!.listContainers, c[i]!.listContainers, undefined, notAbove));
    rows.push(...latencyRows(`ListPodSandbox, ${k[i]!.pods} pods`, k[i]!.listPodSandbox, c[i]!.listPodSandbox, undefined, notAbove));
    rows.push(...latencyRows(`PodSandboxStatus, ${k[i]!.pods} pods`, k[i]!.podSandboxStatus, c[i]!.podSandboxStatus, undefined, status));
    rows.push(...latencyRows(`ContainerStatus, ${k[i]!.containers} containers`, k[i]!.containerStatus, c[i]!.containerStatus, undefined, status));
  }
  const kr = restartMs.get(ctx.krill);
  const cr = restartMs.get(ctx.containerd);
  const podsAtLargest = k[k.length - 1]?.pods ?? 0;
  if (kr !== undefined) {
    rows.push({ metric: `restart to serving every pod, ${podsAtLargest} pods`, unit: 's', krill: kr / 1000, containerd: cr !== undefined ? cr / 1000 : undefined, goal: '≤ 2 s', goalMet: kr <= 2000 });
  }
  return {
    name: 'list',
    title: 'List and status calls as the node fills up, and a restart with every pod',
    params: { sizes: sizes.join('/'), containersPerPod: PARAMS.containersPerPod, calls, warmup: PARAMS.warmup },
    tables: [{ title: 'List calls (no filter) and status calls (not verbose)', rows }],
    details: { krill: k, containerd: c, restartMs: { krill: kr, containerd: cr } },
    notes: [
      `${PARAMS.containersPerPod} containers per pod, created and not started; the pods' sandboxes run. Calls one after the other on one connection, the two runtimes taking turns.`,
      'Restart: SIGTERM (containers keep running), start again, until ListPodSandbox lists every pod; containerd the same way.',
    ],
  };
}
