// metrics: what kubelet's /metrics/cadvisor costs Krill with the gate
// PodAndContainerStatsFromCRI on: ListPodSandboxMetrics at 100 running pods
// (kubelet calls it on every scrape, typically every 10 s), against
// ListPodSandboxStats of the same pods, which kubelet polls already, in both
// runtimes. containerd 1.6 (the reference here) has no ListPodSandboxMetrics:
// that row has no containerd figure. The runtimes take turns call by call.
import { grpc } from '../pkg/criclient/client';
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { createPods, removePods, SLEEP, type BenchPod } from './lib/cri';
import { log } from './lib/log';
import { cpuSeconds } from './lib/proc';
import { latencyRows, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  pods: 100,
  containersPerPod: 2,
  createConcurrency: 4,
  warmup: 5,
  /** Calls of each RPC per runtime. */
  calls: 50,
  /** Pause between rounds: a scrape is periodic, not back to back. */
  pauseMs: 20,
};

type Call = 'listPodSandboxMetrics' | 'listPodSandboxStats';

async function timeOnce(rt: CriRuntime, call: Call): Promise<number> {
  const start = performance.now();
  if (call === 'listPodSandboxMetrics') await rt.client.runtime.listPodSandboxMetrics({});
  else await rt.client.runtime.listPodSandboxStats({ filter: undefined });
  return performance.now() - start;
}

async function implementsMetrics(rt: CriRuntime): Promise<boolean> {
  try {
    await rt.client.runtime.listPodSandboxMetrics({});
    return true;
  } catch (err) {
    if ((err as grpc.ServiceError).code === grpc.status.UNIMPLEMENTED) return false;
    throw err;
  }
}

export async function metricsBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const podCount = scaled(ctx, PARAMS.pods, 5);
  const calls = scaled(ctx, PARAMS.calls, 10);
  const rts = [ctx.krill, ctx.containerd];
  const pods = new Map<CriRuntime, BenchPod[]>();
  const samples = new Map(rts.map((rt) => [rt, { listPodSandboxMetrics: [] as number[], listPodSandboxStats: [] as number[] }]));
  // The daemon's CPU time per call (ms): less at the mercy of the machine's load than the latency.
  const cpuPerCall = new Map(rts.map((rt) => [rt, {} as Partial<Record<Call, number>>]));
  let metricsPerCall = 0;
  const withMetrics: CriRuntime[] = [];
  try {
    for (const rt of rts) {
      const start = performance.now();
      pods.set(rt, await createPods(rt, { pods: podCount, containersPerPod: PARAMS.containersPerPod, image: ctx.images.busybox, command: SLEEP, start: true, concurrency: PARAMS.createConcurrency, signal: ctx.cleanup.signal, prefix: 'mt' }));
      log(`metrics: ${rt.name}: ${podCount} pods of ${PARAMS.containersPerPod} running containers (${((performance.now() - start) / 1000).toFixed(1)} s)`);
    }
    for (const rt of rts) if (await implementsMetrics(rt)) withMetrics.push(rt);
    const { podMetrics } = await ctx.krill.client.runtime.listPodSandboxMetrics({});
    metricsPerCall = podMetrics.reduce((n, p) => n + p.metrics.length + p.containerMetrics.reduce((m, c) => m + c.metrics.length, 0), 0);
    for (const call of ['listPodSandboxMetrics', 'listPodSandboxStats'] as const) {
      const callers = call === 'listPodSandboxMetrics' ? withMetrics : rts;
      for (const rt of callers) for (let i = 0; i < PARAMS.warmup; i++) await timeOnce(rt, call);
      const cpu0 = new Map(callers.map((rt) => [rt, cpuSeconds(rt.daemonPid())]));
      for (let i = 0; i < calls; i++) {
        ctx.cleanup.check();
        for (let j = 0; j < callers.length; j++) {
          const rt = callers[(i + j) % callers.length]!;
          samples.get(rt)![call].push(await timeOnce(rt, call));
        }
        await new Promise((r) => setTimeout(r, PARAMS.pauseMs));
      }
      for (const rt of callers) {
        const [a, b] = [cpu0.get(rt), cpuSeconds(rt.daemonPid())];
        if (a !== undefined && b !== undefined) cpuPerCall.get(rt)![call] = ((b - a) * 1000) / calls;
      }
    }
  } finally {
    for (const [rt, made] of pods) await removePods(rt, made, PARAMS.createConcurrency);
  }
  const sum = (rt: CriRuntime, call: Call): Summary | undefined => {
    const s = samples.get(rt)![call];
    return s.length > 0 ? summarize(s) : undefined;
  };
  const rows: Row[] = [
    ...latencyRows(`ListPodSandboxMetrics, ${podCount} pods`, sum(ctx.krill, 'listPodSandboxMetrics')!, sum(ctx.containerd, 'listPodSandboxMetrics'), undefined, {
      text: 'median < 1 s (a 10 s scrape)',
      met: (k) => k.median < 1000,
    }),
    ...latencyRows(`ListPodSandboxStats, ${podCount} pods`, sum(ctx.krill, 'listPodSandboxStats')!, sum(ctx.containerd, 'listPodSandboxStats')),
    ...(['listPodSandboxMetrics', 'listPodSandboxStats'] as const).map((call): Row => {
      const c = cpuPerCall.get(ctx.containerd)![call];
      return {
        metric: `${call === 'listPodSandboxMetrics' ? 'ListPodSandboxMetrics' : 'ListPodSandboxStats'}, daemon CPU time per call`,
        unit: 'ms',
        krill: cpuPerCall.get(ctx.krill)![call]!,
        ...(c !== undefined ? { containerd: c } : {}),
      };
    }),
  ];
  return {
    name: 'metrics',
    title: 'CRI metrics at 100 pods',
    params: { pods: podCount, containersPerPod: PARAMS.containersPerPod, calls, pauseMs: PARAMS.pauseMs },
    tables: [{ title: `ListPodSandboxMetrics and ListPodSandboxStats, ${podCount} pods of ${PARAMS.containersPerPod} running containers`, rows }],
    details: {
      krillSamplesPerCall: metricsPerCall,
      containerdImplementsMetrics: withMetrics.includes(ctx.containerd),
      krill: { listPodSandboxMetrics: sum(ctx.krill, 'listPodSandboxMetrics'), listPodSandboxStats: sum(ctx.krill, 'listPodSandboxStats'), cpuMsPerCall: cpuPerCall.get(ctx.krill) },
      containerd: { listPodSandboxMetrics: sum(ctx.containerd, 'listPodSandboxMetrics'), listPodSandboxStats: sum(ctx.containerd, 'listPodSandboxStats'), cpuMsPerCall: cpuPerCall.get(ctx.containerd) },
    },
    notes: [
      `Each pod runs ${PARAMS.containersPerPod} sleep containers; Krill returns ${metricsPerCall} samples per ListPodSandboxMetrics call (pod cgroup, network per interface, each container's cgroup), read from the files at the call.`,
      withMetrics.includes(ctx.containerd) ? 'containerd answers ListPodSandboxMetrics as well.' : 'containerd 1.6 answers ListPodSandboxMetrics UNIMPLEMENTED: no reference for that row.',
    ],
  };
}
