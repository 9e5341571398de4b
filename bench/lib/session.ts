// One benchmark run's frame, shared by the suite (bench/run.ts) and the
// standalone pull benchmark: a run directory, a cgroup parent and a log
// directory of its own, the machine's description, Krill and containerd
// started on their own roots, sockets and networks, and the cleanup that
// removes all of it (also on Ctrl-C).
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { removeCgroupTree } from './cgroups';
import { Cleanup } from './cleanup';
import { startContainerd } from './containerd';
import { REPO_ROOT, startKrilld } from './krilld';
import { log } from './log';
import { describeMachine, machineLines, type Machine } from './machine';
import { mountsUnder } from '../../pkg/storage/mount';
import { pickNetwork, type BenchNetwork } from './net';
import { allProcesses } from './proc';
import type { CriRuntime } from './runtime';

export interface RuntimeOptions {
  /** Extra krilld flags (e.g. --log-level debug). */
  krilldArgs?: string[];
  /** NODE_OPTIONS for krilld (e.g. --cpu-prof). */
  krilldNodeOptions?: string;
  pauseImage: string;
}

export interface Session {
  runId: string;
  /** Everything the run makes on disk lives below this directory. */
  base: string;
  logDir: string;
  /** The cgroupfs parent of every pod the run makes. */
  cgroupRoot: string;
  registry: string;
  cleanup: Cleanup;
  machine: Machine;
  /** Networks already handed out (a new one never collides with them). */
  networks: BenchNetwork[];
  /** The runtime roots, for disk measurements. */
  roots: { krill: string; containerd: string };
  startRuntimes(opts: RuntimeOptions): Promise<{ krill: CriRuntime; containerd: CriRuntime }>;
  /** A network (bridge + /22) no other part of the run uses. */
  network(tag: string): BenchNetwork;
  /** Runs the cleanup; returns whether something was left or failed. Logs are kept when asked or when `failed`. */
  close(failed: boolean, keepLogs?: boolean): Promise<boolean>;
}

export async function openSession(opts: { name?: string; registry: string }): Promise<Session> {
  const cleanup = new Cleanup();
  cleanup.handleSignals();
  const runId = randomBytes(4).toString('hex');
  const base = join('/tmp/krill-bench', opts.name ? `${opts.name}-${runId}` : runId);
  const cgroupRoot = `/krill-bench-${runId}`;
  const logDir = `${base}-logs`;
  await mkdir(base, { recursive: true });
  await mkdir(logDir, { recursive: true });
  cleanup.add('remove the run directory', async () => {
    if (mountsUnder(base).length === 0) await rm(base, { recursive: true, force: true });
    else log(`WARNING mounts left under ${base}; not deleting it`);
  });
  cleanup.add('remove the bench cgroups', async () => {
    const busy = await removeCgroupTree(cgroupRoot);
    if (busy.length > 0) log(`WARNING cgroups still in use: ${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ' ...' : ''}`);
  });
  const machine = await describeMachine(REPO_ROOT);
  for (const l of machineLines(machine)) log(l);
  const networks: BenchNetwork[] = [];
  const network = (tag: string): BenchNetwork => {
    const n = pickNetwork(tag, networks);
    networks.push(n);
    return n;
  };
  const roots = { krill: join(base, 'krill', 'root'), containerd: join(base, 'containerd', 'root') };

  return {
    runId,
    base,
    logDir,
    cgroupRoot,
    registry: opts.registry,
    cleanup,
    machine,
    networks,
    roots,
    network,
    async startRuntimes(r) {
      if (r.krilldNodeOptions?.includes('--cpu-prof-dir=')) await mkdir(/--cpu-prof-dir=(\S+)/.exec(r.krilldNodeOptions)![1]!, { recursive: true });
      const krill = await startKrilld({
        dir: join(base, 'krill'),
        logFile: join(logDir, 'krilld.log'),
        registry: opts.registry,
        network: network('k'),
        cgroupRoot,
        cleanup,
        ...(r.krilldArgs ? { args: r.krilldArgs } : {}),
        ...(r.krilldNodeOptions ? { nodeOptions: r.krilldNodeOptions } : {}),
      });
      const containerd = await startContainerd({
        dir: join(base, 'containerd'),
        logFile: join(logDir, 'containerd.log'),
        registry: opts.registry,
        pauseImage: r.pauseImage,
        network: network('c'),
        cgroupRoot,
        cleanup,
      });
      return { krill, containerd };
    },
    async close(failed, keepLogs = false) {
      log('cleaning up');
      const problems = await cleanup.runAll();
      const strays = allProcesses().filter((p) => p.pid !== process.pid && p.cmdline.some((a) => a.includes(base)));
      if (strays.length > 0) log(`WARNING processes still naming ${base}: ${strays.map((p) => `${p.pid} ${p.cmdline.join(' ').slice(0, 80)}`).join('; ')}`);
      const bad = failed || problems.length > 0 || strays.length > 0;
      if (bad || keepLogs) log(`daemon logs of this run: ${logDir}`);
      else await rm(logDir, { recursive: true, force: true });
      machine.loadAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
      return bad;
    },
  };
}
