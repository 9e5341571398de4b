// A Krill sandbox record in CRI terms, shared by Status, List and Stats.
import { NamespaceMode, PodSandboxState, type NamespaceOption, type PodSandboxMetadata } from '../../api/runtime/v1/api';
import type { Sandbox, SandboxState } from '../sandbox/types';

export function criPodState(state: SandboxState): PodSandboxState {
  return state === 'ready' ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
}

export function criMetadata(s: Sandbox): PodSandboxMetadata {
  const md = s.meta.config.metadata!;
  return { name: md.name, uid: md.uid, namespace: md.namespace, attempt: md.attempt };
}

const MODE = { pod: NamespaceMode.POD, container: NamespaceMode.CONTAINER, node: NamespaceMode.NODE } as const;

export function criNamespaceOptions(s: Sandbox): NamespaceOption {
  const m = s.meta.modes;
  return {
    network: MODE[m.network],
    pid: MODE[m.pid],
    ipc: MODE[m.ipc],
    targetId: '',
    usernsOptions: s.meta.userns
      ? { mode: NamespaceMode.POD, uids: s.meta.userns.uids, gids: s.meta.userns.gids }
      : { mode: NamespaceMode.NODE, uids: [], gids: [] },
  };
}

/** JSON for verbose info: bigints as numbers when exact, else as strings. */
export function toInfoJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  });
}
