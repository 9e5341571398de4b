// stats: ListContainerStats and ContainerStatus latency with a container
// whose writable layer holds 500 000 files, against the same calls before
// it filled up (kubelet polls stats every few seconds; a runtime that walks
// the layer on every call slows them, and every other call with them).
// Both runtimes hold the same pods and take turns call by call.
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { createPods, removePods, SLEEP, type BenchPod } from './lib/cri';
import { log } from './lib/log';
import { latencyRows, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  files: 500_000,
  /** Other running containers beside the full one (a node's usual neighbours). */
  neighbours: 9,
  warmup: 5,
  /** Calls of each RPC per phase and runtime. */
  calls: 200,
  /** Pause between rounds: kubelet's stats polling is periodic, not back to back. */
  pauseMs: 20,
};

type Call = 'listContainerStats' | 'containerStatus';
type Phase = Record<Call, Summary>;

async function timeOnce(rt: CriRuntime, call: Call, full: string): Promise<number> {
  const start = performance.now();
  if (call === 'listContainerStats') await rt.client.runtime.listContainerStats({ filter: undefined });
  else await rt.client.runtime.containerStatus({ containerId: full, verbose: false });
  return performance.now() - start;
}

async function timeInTurns(ctx: BenchContext, rts: CriRuntime[], full: Map<CriRuntime, string>, calls: number): Promise<Map<CriRuntime, Phase>> {
  const samples = new Map(rts.map((rt) => [rt, { listContainerStats: [] as number[], containerStatus: [] as number[] }]));
  for (const rt of rts) for (let i = 0; i < PARAMS.warmup; i++) await timeOnce(rt, 'listContainerStats', full.get(rt)!);
  for (let i = 0; i < calls; i++) {
    ctx.cleanup.check();
    for (let j = 0; j < rts.length; j++) {
      const rt = rts[(i + j) % rts.length]!;
      for (const call of ['listContainerStats', 'containerStatus'] as const) samples.get(rt)![call].push(await timeOnce(rt, call, full.get(rt)!));
    }
    await new Promise((r) => setTimeout(r, PARAMS.pauseMs));
  }
  return new Map([...samples].map(([rt, s]) => [rt, { listContainerStats: summarize(s.listContainerStats), containerStatus: summarize(s.containerStatus) }]));
}

/** Fills the container's writable layer with `files` empty files, from inside it. */
async function fill(rt: CriRuntime, containerId: string, files: number): Promise<void> {
  const script = `mkdir -p /many && cd /many && seq 1 ${files} | xargs touch && ls | wc -l`;
  const r = await rt.client.runtime.execSync({ containerId, cmd: ['sh', '-c', script], timeout: 600n });
  const made = Number(r.stdout.toString().trim());
  if (r.exitCode !== 0 || made !== files) throw new Error(`${rt.name}: filling the layer failed (exit ${r.exitCode}, ${made} files): ${r.stderr.toString().slice(0, 500)}`);
}

export async function statsBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const files = scaled(ctx, PARAMS.files, 1000);
  const calls = scaled(ctx, PARAMS.calls, 20);
  const rts = [ctx.krill, ctx.containerd];
  const pods = new Map<CriRuntime, BenchPod[]>();
  const full = new Map<CriRuntime, string>();
  const before = new Map<CriRuntime, Phase>();
  const after = new Map<CriRuntime, Phase>();
  try {
    for (const rt of rts) {
      const made = await createPods(rt, { pods: 1, containersPerPod: PARAMS.neighbours + 1, image: ctx.images.busybox, command: SLEEP, start: true, concurrency: 1, signal: ctx.cleanup.signal, prefix: 'st' });
      pods.set(rt, made);
      full.set(rt, made[0]!.containerIds[0]!);
    }
    for (const [rt, p] of await timeInTurns(ctx, rts, full, calls)) before.set(rt, p);
    for (const rt of rts) {
      const start = performance.now();
      await fill(rt, full.get(rt)!, files);
      log(`stats: ${rt.name}: ${files} files in one writable layer (${((performance.now() - start) / 1000).toFixed(1)} s)`);
    }
    for (const [rt, p] of await timeInTurns(ctx, rts, full, calls)) after.set(rt, p);
  } finally {
    for (const [rt, made] of pods) await removePods(rt, made, 1);
  }
  const rows: Row[] = [];
  const k0 = before.get(ctx.krill)!;
  const c0 = before.get(ctx.containerd)!;
  const k1 = after.get(ctx.krill)!;
  const c1 = after.get(ctx.containerd)!;
  const goal = (call: Call) => ({ text: 'p99 within 1.5× of the same call before the layer filled', met: (k: Summary) => k.p99 <= 1.5 * Math.max(k0[call].p99, 1) });
  rows.push(...latencyRows(`ListContainerStats, ${PARAMS.neighbours + 1} containers, before`, k0.listContainerStats, c0.listContainerStats));
  rows.push(...latencyRows(`ListContainerStats, one layer of ${files} files`, k1.listContainerStats, c1.listContainerStats, undefined, goal('listContainerStats')));
  rows.push(...latencyRows('ContainerStatus, before', k0.containerStatus, c0.containerStatus));
  rows.push(...latencyRows(`ContainerStatus, one layer of ${files} files`, k1.containerStatus, c1.containerStatus, undefined, goal('containerStatus')));
  return {
    name: 'stats',
    title: 'Stats with a writable layer of many files',
    params: { files, neighbours: PARAMS.neighbours, calls, pauseMs: PARAMS.pauseMs },
    tables: [{ title: 'ListContainerStats and ContainerStatus, before and after one container made its files', rows }],
    details: { krill: { before: k0, after: k1 }, containerd: { before: c0, after: c1 } },
    notes: [
      `One pod of ${PARAMS.neighbours + 1} running containers per runtime; one of them fills its writable layer with empty files (busybox seq | xargs touch) between the two phases.`,
      'Krill measures writable layers in the background (one walk at a time, long walks repeated less often) and serves the last measurement.',
    ],
  };
}
