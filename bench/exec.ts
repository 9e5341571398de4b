// ExecSync: the latency of running a short command in a running container
// (what kubelet's exec probes do), Krill against containerd, one client in a
// loop and several clients at once. Both runtimes have their containers up
// at the same time and take turns, so that load from elsewhere on the
// machine weighs on both alike.
import type { CriClient } from '../pkg/criclient/client';
import type { BenchContext } from './lib/context';
import { scaled } from './lib/context';
import { createPods, removePods, SLEEP, type BenchPod } from './lib/cri';
import { log } from './lib/log';
import { runPool } from './lib/pool';
import { latencyRows, type BenchResult } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  /** Running containers (one per pod) per runtime that the calls go to. */
  containers: 5,
  warmup: 10,
  /** Calls one after the other, all to the first container, alternating between the runtimes. */
  serialCalls: 200,
  /** Calls spread over the containers by `clients` concurrent clients, in `rounds` turns per runtime. */
  concurrentCalls: 200,
  clients: 10,
  rounds: 4,
  /** What each call runs (kubelet exec probes are usually about this cheap). */
  cmd: '/bin/true',
};

async function execOnce(client: CriClient, containerId: string): Promise<number> {
  const start = performance.now();
  const r = await client.runtime.execSync({ containerId, cmd: [PARAMS.cmd], timeout: 10n });
  const ms = performance.now() - start;
  if (r.exitCode !== 0) throw new Error(`ExecSync ${PARAMS.cmd} in ${containerId} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return ms;
}

interface Target {
  rt: CriRuntime;
  ids: string[];
  clients: CriClient[];
  serial: number[];
  concurrent: number[];
}

export async function execBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const serialCalls = scaled(ctx, PARAMS.serialCalls, 10);
  const concurrentCalls = scaled(ctx, PARAMS.concurrentCalls, PARAMS.clients * PARAMS.rounds);
  const pods = new Map<CriRuntime, BenchPod[]>();
  const targets: Target[] = [];
  try {
    for (const rt of [ctx.krill, ctx.containerd]) {
      const made = await createPods(rt, { pods: PARAMS.containers, containersPerPod: 1, image: ctx.images.busybox, command: SLEEP, start: true, concurrency: 2, signal: ctx.cleanup.signal, prefix: 'ex' });
      pods.set(rt, made);
      targets.push({ rt, ids: made.map((p) => p.containerIds[0]!), clients: Array.from({ length: PARAMS.clients }, () => rt.connect()), serial: [], concurrent: [] });
    }
    for (const t of targets) for (let i = 0; i < PARAMS.warmup; i++) await execOnce(t.clients[i % t.clients.length]!, t.ids[i % t.ids.length]!);
    for (let i = 0; i < serialCalls; i++) {
      ctx.cleanup.check();
      for (let j = 0; j < targets.length; j++) {
        const t = targets[(i + j) % targets.length]!;
        t.serial.push(await execOnce(t.rt.client, t.ids[0]!));
      }
    }
    const perRound = Math.ceil(concurrentCalls / PARAMS.rounds);
    for (let r = 0; r < PARAMS.rounds; r++) {
      for (let j = 0; j < targets.length; j++) {
        const t = targets[(r + j) % targets.length]!;
        const samples = await runPool<CriClient, number>({
          count: perRound,
          workers: PARAMS.clients,
          makeWorker: (w) => t.clients[w]!,
          signal: ctx.cleanup.signal,
          job: (client, i) => execOnce(client, t.ids[i % t.ids.length]!),
        });
        t.concurrent.push(...samples);
      }
    }
  } finally {
    for (const t of targets) for (const c of t.clients) c.close();
    for (const [rt, made] of pods) await removePods(rt, made, 2);
  }
  const [k, c] = targets.map((t) => ({ serial: summarize(t.serial), concurrent: summarize(t.concurrent) })) as [{ serial: Summary; concurrent: Summary }, { serial: Summary; concurrent: Summary }];
  log(`exec: krill serial median ${k.serial.median.toFixed(1)} ms, containerd ${c.serial.median.toFixed(1)} ms`);
  const goal = { text: '≤ containerd', met: (ks: Summary, cs?: Summary) => cs !== undefined && ks.median <= cs.median };
  return {
    name: 'exec',
    title: `ExecSync (${PARAMS.cmd} in a running busybox container)`,
    params: { ...PARAMS, serialCalls, concurrentCalls },
    tables: [
      {
        title: 'ExecSync latency',
        rows: [...latencyRows('ExecSync, serial', k.serial, c.serial, undefined, goal), ...latencyRows(`ExecSync, ${PARAMS.clients} concurrent clients`, k.concurrent, c.concurrent, undefined, goal)],
      },
    ],
    details: { krill: k, containerd: c },
    notes: ['Krill runs each exec through a fresh conmon (`conmon --exec`, which runs `runc exec`); containerd asks the pod\'s long-running shim, which runs `runc exec`.'],
  };
}
