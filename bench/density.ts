// density: many running pods (one sleep container each). The runtime's own
// footprint — krilld plus every conmon, against containerd plus its shims and
// pause containers — and the daemon's CPU while nothing happens. Both
// runtimes hold their pods at the same time and are sampled over the same window.
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { createPods, removePods, SLEEP, type BenchPod } from './lib/cri';
import { log } from './lib/log';
import { cpuSeconds, sumMemory } from './lib/proc';
import type { BenchResult, Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';

export const PARAMS = {
  pods: 100,
  /** Pods created at once while filling the node. */
  createConcurrency: 4,
  /** Quiet time after the last pod starts, before memory is read. */
  settleSeconds: 5,
  /** How long idle CPU is sampled. */
  idleSeconds: 20,
};

const MiB = 2 ** 20;

interface Footprint {
  pods: number;
  /** Memory by kind of process: krilld/conmon or containerd/shim/pause. */
  byKind: Record<string, { processes: number; rssMiB: number; pssMiB: number }>;
  totalRssMiB: number;
  totalPssMiB: number;
  daemonRssEmptyMiB: number;
  /** CPU while idle, percent of one core. */
  daemonIdleCpu: number;
  allIdleCpu: number;
}

function memoryByKind(rt: CriRuntime): Footprint['byKind'] {
  const out: Footprint['byKind'] = {};
  const groups = new Map<string, number[]>();
  for (const p of rt.overhead()) groups.set(p.kind, [...(groups.get(p.kind) ?? []), p.pid]);
  for (const [kind, pids] of groups) {
    const m = sumMemory(pids);
    out[kind] = { processes: m.processes, rssMiB: m.rss / MiB, pssMiB: m.pss / MiB };
  }
  return out;
}

/** CPU used by the runtimes' processes over the same quiet `seconds`, in percent of one core. */
async function idleCpu(rts: CriRuntime[], seconds: number, signal: AbortSignal): Promise<Map<CriRuntime, { daemon: number; all: number }>> {
  const procs = rts.map((rt) => rt.overhead());
  const before = procs.map((ps) => ps.map((p) => cpuSeconds(p.pid) ?? 0));
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, seconds * 1000);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
  const wall = (performance.now() - start) / 1000;
  const out = new Map<CriRuntime, { daemon: number; all: number }>();
  rts.forEach((rt, r) => {
    const used = procs[r]!.map((p, i) => (cpuSeconds(p.pid) ?? before[r]![i]!) - before[r]![i]!);
    const daemon = procs[r]!.findIndex((p) => p.pid === rt.daemonPid());
    out.set(rt, { daemon: (100 * used[daemon]!) / wall, all: (100 * used.reduce((a, b) => a + b, 0)) / wall });
  });
  return out;
}

/**
 * Fills both runtimes with `pods` running pods (one after the other), lets
 * them settle, reads their memory, and samples their idle CPU over the same
 * window; then removes the pods.
 */
async function measure(ctx: BenchContext, rts: CriRuntime[], pods: number): Promise<Map<CriRuntime, Footprint>> {
  const empty = new Map(rts.map((rt) => [rt, sumMemory([rt.daemonPid()]).rss / MiB]));
  const created = new Map<CriRuntime, BenchPod[]>();
  try {
    for (const rt of rts) {
      const start = performance.now();
      created.set(rt, await createPods(rt, { pods, containersPerPod: 1, image: ctx.images.busybox, command: SLEEP, start: true, concurrency: PARAMS.createConcurrency, signal: ctx.cleanup.signal, prefix: 'dn' }));
      log(`density: ${rt.name}: ${pods} pods running after ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
    await new Promise((r) => setTimeout(r, PARAMS.settleSeconds * 1000));
    ctx.cleanup.check();
    const memory = new Map(rts.map((rt) => [rt, memoryByKind(rt)]));
    const cpu = await idleCpu(rts, PARAMS.idleSeconds, ctx.cleanup.signal);
    ctx.cleanup.check();
    const out = new Map<CriRuntime, Footprint>();
    for (const rt of rts) {
      const byKind = memory.get(rt)!;
      const totals = Object.values(byKind).reduce((a, m) => ({ rss: a.rss + m.rssMiB, pss: a.pss + m.pssMiB }), { rss: 0, pss: 0 });
      const c = cpu.get(rt)!;
      log(`density: ${rt.name}: total RSS ${totals.rss.toFixed(1)} MiB, PSS ${totals.pss.toFixed(1)} MiB, daemon idle CPU ${c.daemon.toFixed(2)}%`);
      out.set(rt, { pods, byKind, totalRssMiB: totals.rss, totalPssMiB: totals.pss, daemonRssEmptyMiB: empty.get(rt)!, daemonIdleCpu: c.daemon, allIdleCpu: c.all });
    }
    return out;
  } finally {
    for (const [rt, made] of created) await removePods(rt, made, PARAMS.createConcurrency);
  }
}

export async function densityBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const pods = scaled(ctx, PARAMS.pods, 5);
  const measured = await measure(ctx, [ctx.krill, ctx.containerd], pods);
  const k = measured.get(ctx.krill)!;
  const c = measured.get(ctx.containerd)!;
  const kind = (f: Footprint, name: string, field: 'rssMiB' | 'pssMiB'): number => f.byKind[name]?.[field] ?? 0;
  const rows: Row[] = [
    { metric: `total memory, RSS (${pods} pods)`, unit: 'MiB', krill: k.totalRssMiB, containerd: c.totalRssMiB, goal: '< containerd', goalMet: k.totalRssMiB < c.totalRssMiB },
    { metric: `total memory, PSS (${pods} pods)`, unit: 'MiB', krill: k.totalPssMiB, containerd: c.totalPssMiB, goal: '< containerd', goalMet: k.totalPssMiB < c.totalPssMiB },
    { metric: 'per pod, RSS', unit: 'MiB', krill: k.totalRssMiB / pods, containerd: c.totalRssMiB / pods },
    { metric: 'daemon RSS before the pods', unit: 'MiB', krill: k.daemonRssEmptyMiB, containerd: c.daemonRssEmptyMiB },
    { metric: `daemon RSS, ${pods} pods`, unit: 'MiB', krill: kind(k, 'krilld', 'rssMiB'), containerd: kind(c, 'containerd', 'rssMiB') },
    { metric: `per-pod helpers RSS (conmon | shim + pause)`, unit: 'MiB', krill: kind(k, 'conmon', 'rssMiB'), containerd: kind(c, 'shim', 'rssMiB') + kind(c, 'pause', 'rssMiB') },
    { metric: `daemon CPU while idle, ${PARAMS.idleSeconds} s`, unit: '% of a core', krill: k.daemonIdleCpu, containerd: c.daemonIdleCpu },
    { metric: 'all runtime processes CPU while idle', unit: '% of a core', krill: k.allIdleCpu, containerd: c.allIdleCpu },
  ];
  const describe = (f: Footprint): string => Object.entries(f.byKind).map(([n, m]) => `${m.processes} ${n} ${m.rssMiB.toFixed(1)} MiB RSS / ${m.pssMiB.toFixed(1)} MiB PSS`).join(', ');
  return {
    name: 'density',
    title: `Density: ${pods} running pods, one busybox sleep container each`,
    params: { ...PARAMS, pods },
    tables: [{ title: `Runtime footprint with ${pods} running pods`, rows }],
    details: { krill: k, containerd: c },
    notes: [
      `Krill: ${describe(k)}.`,
      `containerd: ${describe(c)}.`,
      'RSS counts shared pages (the conmon or shim binary, libc) once per process; PSS divides them among their users, so it is the fairer total. The workload processes (sleep) are counted for neither runtime.',
    ],
  };
}
