// What every benchmarked CRI runtime looks like to a benchmark: a CRI client,
// the processes its memory is counted over, and a teardown that removes
// everything it created.
import type { CriClient } from '../../pkg/criclient/client';
import type { DaemonProcess } from './daemon_process';
import { log } from './log';
import { removeTree } from './mounts';
import { deleteBridge, rulesMentioning, type BenchNetwork } from './net';

export type RuntimeName = 'krill' | 'containerd';

/** A process that counts against a runtime's footprint. */
export interface OverheadProcess {
  pid: number;
  /** "krilld", "conmon", "containerd", "shim", "pause". */
  kind: string;
}

export interface CriRuntime {
  name: RuntimeName;
  /** What the tables call it, with its version. */
  label: string;
  version: string;
  endpoint: string;
  /** Directory for this runtime's pods' logs (kubelet's log_directory). */
  podLogRoot: string;
  /** The cgroupfs parent the bench puts this runtime's pods under. */
  cgroupRoot: string;
  client: CriClient;
  /** Another connection to the same socket (for concurrent clients). */
  connect(): CriClient;
  daemonPid(): number;
  /** Restarts the daemon (its pods and containers keep running): milliseconds until it answers again. */
  restart(): Promise<number>;
  /** The daemon and its per-pod helpers (not the workload's own processes). */
  overhead(): OverheadProcess[];
  /** Removes every pod and container, stops the daemon, deletes its directories. */
  teardown(): Promise<void>;
}

/** Stops and removes every container and pod the runtime knows (the bench made them all). */
export async function removeEverything(name: string, client: CriClient): Promise<void> {
  const { containers } = await client.runtime.listContainers({ filter: undefined });
  for (const c of containers) {
    await client.runtime.stopContainer({ containerId: c.id, timeout: 0n }).catch((err: Error) => log(`${name}: StopContainer ${c.id}: ${err.message}`));
    await client.runtime.removeContainer({ containerId: c.id }).catch((err: Error) => log(`${name}: RemoveContainer ${c.id}: ${err.message}`));
  }
  const { items } = await client.runtime.listPodSandbox({ filter: undefined });
  for (const p of items) {
    await client.runtime.stopPodSandbox({ podSandboxId: p.id }).catch((err: Error) => log(`${name}: StopPodSandbox ${p.id}: ${err.message}`));
    await client.runtime.removePodSandbox({ podSandboxId: p.id }).catch((err: Error) => log(`${name}: RemovePodSandbox ${p.id}: ${err.message}`));
  }
  if (containers.length + items.length > 0) log(`${name}: removed ${items.length} leftover pods and ${containers.length} containers`);
}

export interface TeardownParts {
  /** "krilld" or "containerd", for the log. */
  name: string;
  client: CriClient;
  daemon: DaemonProcess;
  network: BenchNetwork;
  /** The runtime's directory, deleted last. */
  dir: string;
  /** Checks (and ends) the runtime's own helpers once the daemon has stopped. */
  afterStop(): Promise<void>;
}

/**
 * The teardown both runtimes share, runnable any number of times: remove the
 * pods the bench made, stop the daemon, then report (and clean) whatever it
 * left behind: helpers, the bridge, iptables rules, mounts.
 */
export function runtimeTeardown(t: TeardownParts): () => Promise<void> {
  let torn: Promise<void> | undefined;
  return () => {
    torn ??= (async () => {
      if (t.daemon.child.exitCode === null && t.daemon.child.signalCode === null) {
        await removeEverything(t.name, t.client).catch((err: Error) => log(`${t.name}: removing pods failed: ${err.message}`));
      }
      t.client.close();
      await t.daemon.stop();
      await t.afterStop();
      await deleteBridge(t.network.bridge);
      const rules = await rulesMentioning(t.network);
      if (rules.length > 0) log(`${t.name}: WARNING iptables rules left for ${t.network.subnet}:\n  ${rules.join('\n  ')}`);
      const leaked = await removeTree(t.dir);
      if (leaked.length > 0) log(`${t.name}: WARNING left mounts (unmounted now): ${leaked.join(', ')}`);
    })();
    return torn;
  };
}
