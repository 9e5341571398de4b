// `krill-agent uninstall` (Helm pre-delete hook Job, with the agent's
// ServiceAccount): asks every agent to clean up (the marker ConfigMap), waits
// until no Node carries what the agents wrote, cleans the Nodes whose agent did
// not (gone, or too slow) itself, and removes the marker.
import type { Logger } from '../log/logger';
import type { KubeApi } from './types';
import { errorText } from './types';
import { cleanupPatches, isClean, UNINSTALL_CONFIGMAP } from './uninstall';

export interface UninstallOptions {
  namespace: string;
  timeoutMs: number;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export async function runUninstall(kube: KubeApi, opts: UninstallOptions, log: Logger): Promise<{ cleanedByAgents: string[]; cleanedHere: string[] }> {
  await kube.ensureConfigMap(opts.namespace, UNINSTALL_CONFIGMAP, { requested: new Date(opts.now()).toISOString() });
  log.info({ namespace: opts.namespace, configmap: UNINSTALL_CONFIGMAP }, 'uninstall requested: waiting for the agents');
  const deadline = opts.now() + opts.timeoutMs;
  let dirty: string[] = [];
  const everDirty = new Set<string>();
  for (;;) {
    const nodes = await kube.listNodes();
    dirty = nodes.filter((n) => !isClean(n)).map((n) => n.metadata?.name ?? '');
    for (const n of dirty) everDirty.add(n);
    if (dirty.length === 0 || opts.now() >= deadline) break;
    await opts.sleep(opts.pollMs);
  }
  const cleanedHere: string[] = [];
  for (const name of dirty) {
    const node = await kube.getNode(name);
    const { metadata, status } = cleanupPatches(node);
    if (metadata) await kube.patchNodeMetadata(name, metadata);
    if (status) await kube.patchNodeStatus(name, status);
    cleanedHere.push(name);
    log.warn({ node: name }, 'its agent did not clean up in time: cleaned it here (drop-ins on that host stay)');
  }
  await kube.deleteConfigMap(opts.namespace, UNINSTALL_CONFIGMAP).catch((err: unknown) => log.warn({ err: errorText(err) }, 'could not delete the uninstall marker'));
  return { cleanedByAgents: [...everDirty].filter((n) => !cleanedHere.includes(n)), cleanedHere };
}
