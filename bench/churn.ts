// churn: the daemon's memory through heavy work and after it. Pod lifecycles
// (run, create, start, an ExecSync, stop, remove) by several concurrent
// clients, two rounds per runtime, the runtimes taking turns; each daemon's RSS
// is read before, sampled during (the highest sample), right after, and after
// a quiet spell. The second round shows whether memory plateaus or keeps growing.
// Goals (issue 16): krilld ≤ 80 MiB idle, before and after the churn; ≤ 100 MiB during it.
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { podLifecycle } from './lib/cri';
import { log } from './lib/log';
import { runPool } from './lib/pool';
import { memoryOf } from './lib/proc';
import type { BenchResult, Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import type { CriClient } from '../pkg/criclient/client';

export const PARAMS = {
  /** Lifecycles per round. */
  pods: 300,
  clients: 4,
  rounds: 2,
  /** Quiet time after a round before its "idle after" reading. */
  idleSeconds: 20,
  sampleMs: 250,
};

const MiB = 2 ** 20;

export interface ChurnMemory {
  beforeMiB: number;
  /** Per round: the highest sample during it, right after it, after the quiet spell. */
  rounds: { peakMiB: number; endMiB: number; idleMiB: number }[];
}

function rssMiB(rt: CriRuntime): number {
  const m = memoryOf(rt.daemonPid());
  if (!m) throw new Error(`${rt.name}: its daemon (pid ${rt.daemonPid()}) is gone`);
  return m.rss / MiB;
}

async function round(ctx: BenchContext, rt: CriRuntime, pods: number, clients: number): Promise<number> {
  let peak = rssMiB(rt);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(rt));
  }, PARAMS.sampleMs);
  try {
    await runPool<CriClient, void>({
      count: pods,
      workers: clients,
      makeWorker: () => rt.connect(),
      closeWorker: (c) => c.close(),
      signal: ctx.cleanup.signal,
      job: async (client) => {
        await podLifecycle(rt, client, ctx.images.busybox, 10, async (containerId) => {
          const r = await client.runtime.execSync({ containerId, cmd: ['/bin/true'], timeout: 10n });
          if (r.exitCode !== 0) throw new Error(`${rt.name}: ExecSync exited ${r.exitCode}`);
        });
      },
    });
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, rssMiB(rt));
}

export function churnRows(k: ChurnMemory, c: ChurnMemory): Row[] {
  const rows: Row[] = [{ metric: 'daemon RSS before', unit: 'MiB', krill: k.beforeMiB, containerd: c.beforeMiB, goal: 'krilld ≤ 80 MiB', goalMet: k.beforeMiB <= 80 }];
  k.rounds.forEach((kr, i) => {
    const cr = c.rounds[i];
    const n = i + 1;
    rows.push(
      { metric: `round ${n}: highest during`, unit: 'MiB', krill: kr.peakMiB, containerd: cr?.peakMiB, goal: 'krilld ≤ 100 MiB', goalMet: kr.peakMiB <= 100 },
      { metric: `round ${n}: right after`, unit: 'MiB', krill: kr.endMiB, containerd: cr?.endMiB },
      { metric: `round ${n}: after ${PARAMS.idleSeconds} s idle`, unit: 'MiB', krill: kr.idleMiB, containerd: cr?.idleMiB, goal: 'krilld ≤ 80 MiB', goalMet: kr.idleMiB <= 80 },
    );
  });
  return rows;
}

export async function churnBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const pods = scaled(ctx, PARAMS.pods, 8);
  const rts = [ctx.krill, ctx.containerd];
  const mem = new Map<CriRuntime, ChurnMemory>(rts.map((rt) => [rt, { beforeMiB: rssMiB(rt), rounds: [] }]));
  for (let r = 0; r < PARAMS.rounds; r++) {
    for (const rt of r % 2 === 0 ? rts : [...rts].reverse()) {
      ctx.cleanup.check();
      log(`${rt.name}: churn round ${r + 1}/${PARAMS.rounds}: ${pods} pod lifecycles on ${PARAMS.clients} clients`);
      const peakMiB = await round(ctx, rt, pods, PARAMS.clients);
      const endMiB = rssMiB(rt);
      await new Promise((resolve) => setTimeout(resolve, PARAMS.idleSeconds * 1000));
      const idleMiB = rssMiB(rt);
      mem.get(rt)!.rounds.push({ peakMiB, endMiB, idleMiB });
      log(`${rt.name}: round ${r + 1}: highest ${peakMiB.toFixed(1)} MiB, after ${endMiB.toFixed(1)}, idle ${idleMiB.toFixed(1)}`);
    }
  }
  const k = mem.get(ctx.krill)!;
  const c = mem.get(ctx.containerd)!;
  return {
    name: 'churn',
    title: `Daemon memory through ${PARAMS.rounds} rounds of ${pods} pod lifecycles (${PARAMS.clients} clients)`,
    params: { pods, clients: PARAMS.clients, rounds: PARAMS.rounds, idleSeconds: PARAMS.idleSeconds },
    tables: [{ title: 'Daemon RSS (krilld; containerd without its shims)', rows: churnRows(k, c) }],
    details: { krill: k, containerd: c },
    notes: [
      'Each lifecycle: RunPodSandbox, CreateContainer, StartContainer, ExecSync /bin/true, StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox.',
      `RSS from /proc/<pid>/smaps_rollup, sampled every ${PARAMS.sampleMs} ms during a round.`,
    ],
  };
}
