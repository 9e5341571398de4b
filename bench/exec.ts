// ExecSync: the latency of running a short command in a running container
// (what kubelet's exec probes do), Krill against containerd, one client in a
// loop and several clients at once.
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
  /** Running containers (one per pod) the calls go to. */
  containers: 5,
  warmup: 10,
  /** Calls one after the other, all to the first container. */
  serialCalls: 200,
  /** Calls spread over the containers by `clients` concurrent clients. */
  concurrentCalls: 200,
  clients: 10,
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

interface ExecRuns {
  serial: Summary;
  concurrent: Summary;
}

async function measure(ctx: BenchContext, rt: CriRuntime): Promise<ExecRuns> {
  const serialCalls = scaled(ctx, PARAMS.serialCalls, 10);
  const concurrentCalls = scaled(ctx, PARAMS.concurrentCalls, PARAMS.clients);
  let pods: BenchPod[] = [];
  try {
    pods = await createPods(rt, { pods: PARAMS.containers, containersPerPod: 1, image: ctx.images.busybox, command: SLEEP, start: true, concurrency: 2, signal: ctx.cleanup.signal, prefix: 'ex' });
    const ids = pods.map((p) => p.containerIds[0]!);
    for (let i = 0; i < PARAMS.warmup; i++) await execOnce(rt.client, ids[i % ids.length]!);
    const serial: number[] = [];
    for (let i = 0; i < serialCalls; i++) {
      ctx.cleanup.check();
      serial.push(await execOnce(rt.client, ids[0]!));
    }
    const concurrent = await runPool<CriClient, number>({
      count: concurrentCalls,
      workers: PARAMS.clients,
      makeWorker: () => rt.connect(),
      closeWorker: (c) => c.close(),
      signal: ctx.cleanup.signal,
      job: (client, i) => execOnce(client, ids[i % ids.length]!),
    });
    log(`exec: ${rt.name}: serial median ${summarize(serial).median.toFixed(1)} ms, ${PARAMS.clients} clients median ${summarize(concurrent).median.toFixed(1)} ms`);
    return { serial: summarize(serial), concurrent: summarize(concurrent) };
  } finally {
    await removePods(rt, pods, 2);
  }
}

export async function execBench(ctx: BenchContext): Promise<Omit<BenchResult, 'seconds'>> {
  const k = await measure(ctx, ctx.krill);
  const c = await measure(ctx, ctx.containerd);
  const goal = { text: '≤ containerd', met: (ks: Summary, cs?: Summary) => cs !== undefined && ks.median <= cs.median };
  return {
    name: 'exec',
    title: `ExecSync (${PARAMS.cmd} in a running busybox container)`,
    params: { ...PARAMS, serialCalls: scaled(ctx, PARAMS.serialCalls, 10), concurrentCalls: scaled(ctx, PARAMS.concurrentCalls, PARAMS.clients) },
    tables: [
      {
        title: 'ExecSync latency',
        rows: [...latencyRows('ExecSync, serial', k.serial, c.serial, undefined, goal), ...latencyRows(`ExecSync, ${PARAMS.clients} concurrent clients`, k.concurrent, c.concurrent, undefined, goal)],
      },
    ],
    details: { krill: k, containerd: c },
    notes: ['Krill runs each exec through a fresh conmon (`conmon --exec`) and `runc exec`; containerd asks the pod\'s long-running shim, which runs `runc exec`.'],
  };
}
