// Uninstall: what the agent wrote on a Node, and the patches that take it off.
// The request is the annotation krill.dev/uninstall=requested on the agent's
// ConfigMap (KRILL_AGENT_CONFIGMAP), which `krill-agent uninstall` sets and
// every agent watches; `helm uninstall` deletes the ConfigMap afterwards, so a
// later install starts clean. Pure.
import { CONDITION_TYPE, conditionRemovalPatch } from './health';
import { HASH_ANNOTATION, PENDING_RESTART_ANNOTATION } from './cluster_config';
import { labelRemovalPatch } from './labels';
import type { ConfigMapObject, MetadataPatch, NodeObject } from './types';

export const UNINSTALL_ANNOTATION = 'krill.dev/uninstall';
export const UNINSTALL_REQUESTED = 'requested';

export function uninstallRequested(cm: ConfigMapObject | undefined): boolean {
  return cm?.metadata?.annotations?.[UNINSTALL_ANNOTATION] === UNINSTALL_REQUESTED;
}

const OWNED_ANNOTATIONS: readonly string[] = [HASH_ANNOTATION, PENDING_RESTART_ANNOTATION];

/** What of the agent's a Node still carries: label and annotation keys, and whether the condition is there. */
export function leftovers(node: NodeObject): { labels: string[]; annotations: string[]; condition: boolean } {
  const labels = Object.keys(labelRemovalPatch(node.metadata?.labels ?? {}) ?? {});
  const annotations = Object.keys(node.metadata?.annotations ?? {}).filter((k) => OWNED_ANNOTATIONS.includes(k));
  const condition = (node.status?.conditions ?? []).some((c) => c.type === CONDITION_TYPE);
  return { labels, annotations, condition };
}

export function isClean(node: NodeObject): boolean {
  const l = leftovers(node);
  return l.labels.length === 0 && l.annotations.length === 0 && !l.condition;
}

/** The patches that clean a Node: a merge patch of metadata (undefined if none is needed) and a status patch (undefined likewise). */
export function cleanupPatches(node: NodeObject): { metadata: MetadataPatch | undefined; status: object | undefined } {
  const l = leftovers(node);
  const meta: MetadataPatch = {};
  if (l.labels.length > 0) meta.labels = Object.fromEntries(l.labels.map((k) => [k, null]));
  if (l.annotations.length > 0) meta.annotations = Object.fromEntries(l.annotations.map((k) => [k, null]));
  return {
    metadata: meta.labels || meta.annotations ? meta : undefined,
    status: l.condition ? conditionRemovalPatch() : undefined,
  };
}
