// lifecycle: pods with one busybox sleep container each, run → create →
// start → stop → remove, serially and with concurrent clients; Krill against
// containerd and against the floor (the same work with no daemon).
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { LIFECYCLE_STEPS, podLifecycle, SLEEP_TERMINABLE } from './lib/cri';
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
  /** The concurrent pods run in this many rounds per system, the systems taking turns. */
  rounds: 4,
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
    await ctx.floor.waitForFile(pod, 'ready');
    await step(FLOOR_STEPS[2], () => ctx.floor.stopContainer(pod!, PARAMS.stopTimeoutS * 1000));
    await step(FLOOR_STEPS[3], () => ctx.floor.removeContainer(pod!));
    await step(FLOOR_STEPS[4], () => ctx.floor.removePod(pod!));
    pod = undefined;
  } finally {
    if (pod) await ctx.floor.removePod(pod).catch(() => undefined);
  }
  return { ...(t as Record<(typeof FLOOR_STEPS)[number], number>), total: FLOOR_STEPS.reduce((s, k) => s + t[k]!, 0) };
}

/** A system under test, as the lifecycle loop sees it. */
interface System {
  name: 'krill' | 'containerd' | 'floor';
  /** One lifecycle on `client` (null for the floor): its step times. */
  once(client: CriClient | null): Promise<Record<string, number> & { total: number }>;
  /** The i-th client connection, made once and kept (connecting is not what is measured). */
  client(i: number): CriClient | null;
  close(): void;
}

interface Run {
  samples: (Record<string, number> & { total: number })[];
  wallMs: number;
}

function systems(ctx: BenchContext): System[] {
  const cri = (rt: CriRuntime): System => {
    const clients: CriClient[] = [rt.client];
    return {
      name: rt.name,
      once: (client) => podLifecycle(rt, client!, ctx.images.busybox, PARAMS.stopTimeoutS),
      client: (i) => (clients[i] ??= rt.connect()),
      close: () => clients.slice(1).forEach((c) => c.close()),
    };
  };
  return [cri(ctx.krill), cri(ctx.containerd), { name: 'floor', once: () => floorLifecycle(ctx), client: () => null, close: () => undefined }];
}

/** `count` lifecycles of `sys` on `workers` concurrent clients. */
async function batch(ctx: BenchContext, sys: System, count: number, workers: number, run: Run): Promise<void> {
  const start = performance.now();
  const samples = await runPool({
    count,
    workers,
    makeWorker: (i) => sys.client(i),
    job: (client) => sys.once(client),
    signal: ctx.cleanup.signal,
  });
  run.wallMs += performance.now() - start;
  run.samples.push(...samples);
}

/**
 * The systems take turns (in a rotating order), one pod at a time when
 * serial, in rounds of `round` pods when concurrent: load from elsewhere on
 * the machine then weighs on all of them alike.
 */
async function interleaved(ctx: BenchContext, all: System[], total: number, round: number, workers: number): Promise<Record<System['name'], Run>> {
  const runs = Object.fromEntries(all.map((s) => [s.name, { samples: [], wallMs: 0 } as Run])) as Record<System['name'], Run>;
  for (let done = 0, turn = 0; done < total; done += round, turn++) {
    const n = Math.min(round, total - done);
    for (let j = 0; j < all.length; j++) {
      const sys = all[(turn + j) % all.length]!;
      await batch(ctx, sys, n, workers, runs[sys.name]);
    }
  }
  for (const s of all) log(`lifecycle: ${s.name} ${workers === 1 ? 'serial' : `${workers} clients`}: ${runs[s.name].samples.length} pods in ${(runs[s.name].wallMs / 1000).toFixed(1)} s`);
  return runs;
}

function stepSummaries<K extends string>(samples: Record<string, number>[], keys: readonly K[]): Record<K, Summary> {
  const out = {} as Record<K, Summary>;
  for (const k of keys) out[k] = summarize(samples.map((s) => s[k]!));
  return out;
}

const GOAL = {
  text: '≤ containerd and ≤ 1.5× floor',
  met: (k: Summary, c?: Summary, f?: Summary): boolean => c !== undefined && f !== undefined && k.median <= c.median && k.median <= 1.5 * f.median,
};

export async function lifecycleBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const serial = scaled(ctx, PARAMS.serialPods, 5);
  const concurrent = scaled(ctx, PARAMS.concurrentPods, PARAMS.clients);
  const all = systems(ctx);
  let serialRuns: Record<System['name'], Run>;
  let concurrentRuns: Record<System['name'], Run>;
  try {
    await interleaved(ctx, all, PARAMS.warmup, 1, 1);
    serialRuns = await interleaved(ctx, all, serial, 1, 1);
    concurrentRuns = await interleaved(ctx, all, concurrent, Math.ceil(concurrent / PARAMS.rounds), PARAMS.clients);
  } finally {
    for (const sys of all) sys.close();
  }
  const [kS, cS, fS] = [serialRuns.krill, serialRuns.containerd, serialRuns.floor];
  const [kC, cC, fC] = [concurrentRuns.krill, concurrentRuns.containerd, concurrentRuns.floor];

  const tot = (r: Run): Summary => summarize(r.samples.map((s) => s.total));
  const throughput = (r: Run): number => r.samples.length / (r.wallMs / 1000);
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
      'The container is busybox `sh -c "trap \'exit 0\' TERM; echo ready; ...; sleep 3600 & wait"`: it exits on SIGTERM at once, so StopContainer measures the stop path, not a grace period. Between StartContainer and StopContainer the bench waits, untimed, until the container says it is ready.',
      `The systems take turns: one pod each in rotating order when serial; ${PARAMS.rounds} rounds of a quarter of the pods each when concurrent.`,
      `Floor serial medians by step: ${FLOOR_STEPS.map((s) => `${s} ${fSteps[s].median.toFixed(1)} ms`).join('; ')}.`,
      'containerd also starts and stops a pause container per pod (its sandbox); Krill pins the namespaces instead.',
    ],
  };
}
