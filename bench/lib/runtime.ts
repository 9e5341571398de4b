// What every benchmarked CRI runtime looks like to a benchmark: a CRI client,
// the processes its memory is counted over, and a teardown that removes
// everything it created.
import type { CriClient } from '../../pkg/criclient/client';
import { connectCri } from '../../pkg/criclient/client';
import { log } from './log';

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
  /** The daemon and its per-pod helpers (not the workload's own processes). */
  overhead(): OverheadProcess[];
  /** Removes every pod and container, stops the daemon, deletes its directories. */
  teardown(): Promise<void>;
}

export function connect(endpoint: string): CriClient {
  return connectCri(endpoint);
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
