// Cluster config: the agent's ConfigMap (key krill.toml) rendered into a drop-in,
// and what to do with krilld's answer to the reload. Pure.

export const CLUSTER_DROPIN = '50-cluster.toml';
export const CONFIG_KEY = 'krill.toml';
export const HASH_ANNOTATION = 'krill.dev/config-hash';
export const PENDING_RESTART_ANNOTATION = 'krill.dev/config-pending-restart';

/** The drop-in's text for a ConfigMap's data, or null when there should be no drop-in (no ConfigMap, key missing or blank). */
export function renderDropin(configMap: { namespace: string; name: string; data: Readonly<Record<string, string>> } | undefined): string | null {
  const toml = configMap?.data[CONFIG_KEY];
  if (toml === undefined || toml.trim() === '') return null;
  const body = toml.endsWith('\n') ? toml : `${toml}\n`;
  return `# Written by krill-agent from ConfigMap ${configMap!.namespace}/${configMap!.name}, key ${CONFIG_KEY}; edits here are overwritten.\n${body}`;
}

/** krilld's answer to Admin/Reload. */
export interface ReloadResult {
  hash: string;
  applied: string[];
  needsRestart: string[];
}

/** The merge patch of metadata.annotations that reports a reload. */
export function configAnnotations(result: ReloadResult): Record<string, string | null> {
  return {
    [HASH_ANNOTATION]: result.hash,
    [PENDING_RESTART_ANNOTATION]: result.needsRestart.length > 0 ? [...result.needsRestart].sort().join(',') : null,
  };
}

export type ReloadFailure = { kind: 'rejected'; message: string } | { kind: 'unavailable'; message: string };

/**
 * After a failed reload the previous drop-in goes back either way: a rejected file must not be
 * what the next krilld start reads, and a file krilld never validated must not be either.
 * A rejection is reported and not retried until the ConfigMap changes; anything else is retried.
 */
export function afterReloadFailure(failure: ReloadFailure): { restore: true; event: { reason: string; message: string } | undefined; retry: boolean } {
  return failure.kind === 'rejected'
    ? { restore: true, event: { reason: 'ConfigRejected', message: `krilld refused the cluster config: ${failure.message}` }, retry: false }
    : { restore: true, event: undefined, retry: true };
}

/** Whether to act on a ConfigMap's rendering: skip what krilld already refused, and what is already in place and reported. */
export function configAction(desired: string | null, onDisk: string | null, rejected: string | null | undefined, reported: boolean): 'none' | 'write' | 'reload' {
  if (rejected !== undefined && desired === rejected) return 'none';
  if (desired !== onDisk) return 'write';
  return reported ? 'none' : 'reload';
}
