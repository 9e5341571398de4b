// lifecycle: pods with one busybox sleep container each, run → create →
// start → stop → remove, serially and with concurrent clients; Krill against
// containerd and against the floor (the same work with no daemon).
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { LIFECYCLE_STEPS, podLifecycle, SLEEP_TERMINABLE, type StepTimes } from './lib/cri';
import type { FloorPod } from './lib/floor';
import { log } from './lib/log';
import { runPool } from './lib/pool';
import { latencyRows, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { summarize, type Summary } from './lib/stats';
import type { CriClient } from '../pkg/criclient/client';

export const PARAMS = {
  /** Lifecycles per system before measuring (not counted). */
  warmup: 3,
  /** Pods taken through their life one after the other. */
  serialPods: 40,
  /** Pods taken through their life by `clients` concurrent clients. */
  concurrentPods: 100,
  clients: 10,
  /** StopContainer's timeout; the container exits on SIGTERM at once. */
  stopTimeoutS: 10,
};

const FLOOR_STEPS = ['pod: unshare + CNI ADD', 'container: overlay + runc run -d', 'stop: runc kill TERM + exit', 'remove: runc delete + umount', 'pod: CNI DEL + unpin'] as const;
type FloorTimes = Record<(typeof FLOOR_STEPS)[number], number> & { total: number };

async function floorLifecycle(ctx: BenchContext): Promise<FloorTimes> {
  const t: Partial<FloorTimes> = {};
  const step = async <T>(s: (typeof FLOOR_STEPS)[number], fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const v = await fn();
    t[s] = performance.now() - start;
    return v;
  };
  let pod: FloorPod | undefined;
  try {
    pod = await step(FLOOR_STEPS[0], () => ctx.floor.runPod());
    await step(FLOOR_STEPS[1], () => ctx.floor.runContainer(pod!, SLEEP_TERMINABLE));
    await step(FLOOR_STEPS[2], () => ctx.floor.stopContainer(pod!, PARAMS.stopTimeoutS * 1000));
    await step(FLOOR_STEPS[3], () => ctx.floor.removeContainer(pod!));
    await step(FLOOR_STEPS[4], () => ctx.floor.removePod(pod!));
    pod = undefined;
  } finally {
    if (pod) await ctx.floor.removePod(pod).catch(() => undefined);
  }
  return { ...(t as Record<(typeof FLOOR_STEPS)[number], number>), total: FLOOR_STEPS.reduce((s, k) => s + t[k]!, 0) };
}

interface Run<T> {
  samples: T[];
  wallMs: number;
}

async function measure<T, W>(ctx: BenchContext, label: string, count: number, workers: number, makeWorker: () => W, job: (w: W) => Promise<T>, closeWorker?: (w: W) => void): Promise<Run<T>> {
  const start = performance.now();
  const samples = await runPool({ count, workers, makeWorker, job: (w) => job(w), signal: ctx.cleanup.signal, ...(closeWorker ? { closeWorker } : {}) });
  const wallMs = performance.now() - start;
  log(`lifecycle: ${label}: ${count} pods in ${(wallMs / 1000).toFixed(1)} s`);
  return { samples, wallMs };
}

function criRuns(ctx: BenchContext, rt: CriRuntime, count: number, workers: number): Promise<Run<StepTimes>> {
  const image = ctx.images.busybox;
  const label = `${rt.name} ${workers === 1 ? 'serial' : `${workers} clients`}`;
  // Each concurrent client gets a gRPC connection of its own.
  return measure<StepTimes, CriClient>(
    ctx,
    label,
    count,
    workers,
    () => (workers === 1 ? rt.client : rt.connect()),
    (client) => podLifecycle(rt, client, image, PARAMS.stopTimeoutS),
    (client) => {
      if (client !== rt.client) client.close();
    },
  );
}

function floorRuns(ctx: BenchContext, count: number, workers: number): Promise<Run<FloorTimes>> {
  return measure<FloorTimes, null>(ctx, `floor ${workers === 1 ? 'serial' : `${workers} workers`}`, count, workers, () => null, () => floorLifecycle(ctx));
}

function stepSummaries<K extends string>(samples: Record<K, number>[], keys: readonly K[]): Record<K, Summary> {
  const out = {} as Record<K, Summary>;
  for (const k of keys) out[k] = summarize(samples.map((s) => s[k]));
  return out;
}

const GOAL = {
  text: '≤ containerd and ≤ 1.5× floor',
  met: (k: Summary, c?: Summary, f?: Summary): boolean => c !== undefined && f !== undefined && k.median <= c.median && k.median <= 1.5 * f.median,
};

export async function lifecycleBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const serial = scaled(ctx, PARAMS.serialPods, 5);
  const concurrent = scaled(ctx, PARAMS.concurrentPods, PARAMS.clients);
  const warmup = PARAMS.warmup;
  for (const rt of [ctx.krill, ctx.containerd]) await criRuns(ctx, rt, warmup, 1);
  await floorRuns(ctx, warmup, 1);

  const kS = await criRuns(ctx, ctx.krill, serial, 1);
  const cS = await criRuns(ctx, ctx.containerd, serial, 1);
  const fS = await floorRuns(ctx, serial, 1);
  const kC = await criRuns(ctx, ctx.krill, concurrent, PARAMS.clients);
  const cC = await criRuns(ctx, ctx.containerd, concurrent, PARAMS.clients);
  const fC = await floorRuns(ctx, concurrent, PARAMS.clients);

  const tot = <T extends { total: number }>(r: Run<T>): Summary => summarize(r.samples.map((s) => s.total));
  const throughput = (r: Run<unknown>): number => r.samples.length / (r.wallMs / 1000);
  const rows: Row[] = [
    ...latencyRows(`pod lifecycle, serial (${serial} pods)`, tot(kS), tot(cS), tot(fS), GOAL),
    ...latencyRows(`pod lifecycle, ${PARAMS.clients} concurrent clients (${concurrent} pods)`, tot(kC), tot(cC), tot(fC), GOAL),
    { metric: `throughput, ${PARAMS.clients} concurrent clients`, unit: 'pods/s', krill: throughput(kC), containerd: throughput(cC), floor: throughput(fC) },
  ];
  const kSteps = stepSummaries(kS.samples, LIFECYCLE_STEPS);
  const cSteps = stepSummaries(cS.samples, LIFECYCLE_STEPS);
  const kCSteps = stepSummaries(kC.samples, LIFECYCLE_STEPS);
  const cCSteps = stepSummaries(cC.samples, LIFECYCLE_STEPS);
  const stepRows: Row[] = LIFECYCLE_STEPS.flatMap((s) => [
    { metric: `${s}, serial, median`, unit: 'ms' as const, krill: kSteps[s].median, containerd: cSteps[s].median },
    { metric: `${s}, ${PARAMS.clients} clients, median`, unit: 'ms' as const, krill: kCSteps[s].median, containerd: cCSteps[s].median },
  ]);
  const fSteps = stepSummaries(fS.samples, FLOOR_STEPS);
  return {
    name: 'lifecycle',
    title: 'Pod lifecycle (run → create → start → stop → remove, one busybox container)',
    params: { ...PARAMS, serialPods: serial, concurrentPods: concurrent },
    tables: [
      { title: 'Pod lifecycle: one pod with one container through its whole life (7 CRI calls)', rows },
      { title: 'Lifecycle by CRI call (median)', rows: stepRows },
    ],
    details: {
      krill: { serial: kSteps, concurrent: kCSteps, serialTotal: tot(kS), concurrentTotal: tot(kC) },
      containerd: { serial: cSteps, concurrent: cCSteps, serialTotal: tot(cS), concurrentTotal: tot(cC) },
      floor: { serial: fSteps, concurrent: stepSummaries(fC.samples, FLOOR_STEPS), serialTotal: tot(fS), concurrentTotal: tot(fC) },
    },
    notes: [
      'The container is busybox `sh -c "trap \'exit 0\' TERM; sleep 3600 & wait"`: it exits on SIGTERM at once, so StopContainer measures the stop path, not a grace period.',
      `Floor serial medians by step: ${FLOOR_STEPS.map((s) => `${s} ${fSteps[s].median.toFixed(1)} ms`).join('; ')}.`,
      'containerd also starts and stops a pause container per pod (its sandbox); Krill pins the namespaces instead.',
    ],
  };
}
