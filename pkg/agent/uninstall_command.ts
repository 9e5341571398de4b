// `krill-agent uninstall` (Helm pre-delete hook Job, with the agent's
// ServiceAccount): asks every agent to clean up (the annotation on the agent
// ConfigMap), waits until no Node carries what the agents wrote, and cleans the
// Nodes whose agent did not (gone, or too slow) itself.
import type { Logger } from '../log/logger';
import type { KubeApi } from './types';
import { cleanupPatches, isClean, UNINSTALL_ANNOTATION, UNINSTALL_REQUESTED } from './uninstall';

export interface UninstallOptions {
  namespace: string;
  /** The agents' ConfigMap; '' when the cluster config is off (then no agent is asked, the Nodes are cleaned here). */
  configMap: string;
  timeoutMs: number;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export async function runUninstall(kube: KubeApi, opts: UninstallOptions, log: Logger): Promise<{ cleanedByAgents: string[]; cleanedHere: string[] }> {
  const asked = opts.configMap !== '' && (await kube.annotateConfigMap(opts.namespace, opts.configMap, { [UNINSTALL_ANNOTATION]: UNINSTALL_REQUESTED }));
  if (asked) log.info({ namespace: opts.namespace, configmap: opts.configMap }, 'uninstall requested: waiting for the agents');
  else log.warn({ namespace: opts.namespace, configmap: opts.configMap || null }, 'no agent ConfigMap to annotate: cleaning the Nodes here (drop-ins on the hosts stay)');
  const deadline = opts.now() + (asked ? opts.timeoutMs : 0);
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
    if (asked) log.warn({ node: name }, 'its agent did not clean up in time: cleaned it here (drop-ins on that host stay)');
  }
  return { cleanedByAgents: [...everDirty].filter((n) => !cleanedHere.includes(n)), cleanedHere };
}
