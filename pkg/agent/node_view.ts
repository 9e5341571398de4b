// The agent's view of its own Node: read once at start, then kept current by the
// Node informer (field-selected to this node). Patches the agent makes are
// applied to the view at once, so the next decision does not repeat them while
// the watch event is on its way.
import type { NodeCondition } from './health';
import type { MetadataPatch, NodeObject } from './types';

export class NodeView {
  private node: NodeObject | undefined;
  private readonly listeners: (() => void)[] = [];

  set(node: NodeObject): void {
    this.node = node;
    for (const l of this.listeners) l();
  }

  /** Called when the informer brings a new version of the Node. */
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  get known(): boolean {
    return this.node !== undefined;
  }

  get object(): NodeObject | undefined {
    return this.node;
  }

  labels(): Record<string, string> {
    return { ...(this.node?.metadata?.labels ?? {}) };
  }

  annotations(): Record<string, string> {
    return { ...(this.node?.metadata?.annotations ?? {}) };
  }

  condition(type: string): NodeCondition | undefined {
    const c = this.node?.status?.conditions?.find((x) => x.type === type);
    if (!c) return undefined;
    const time = (t: string | Date | undefined) => (t === undefined ? undefined : t instanceof Date ? t.toISOString().replace(/\.\d{3}Z$/, 'Z') : t);
    return { type: c.type, status: c.status, reason: c.reason, message: c.message, lastHeartbeatTime: time(c.lastHeartbeatTime), lastTransitionTime: time(c.lastTransitionTime) };
  }

  applyMetadata(patch: MetadataPatch): void {
    if (!this.node) return;
    const meta = { ...(this.node.metadata ?? {}) };
    const merge = (cur: Record<string, string> | undefined, p: Record<string, string | null> | undefined) => {
      if (!p) return cur;
      const out = { ...(cur ?? {}) };
      for (const [k, v] of Object.entries(p)) if (v === null) delete out[k];
      else out[k] = v;
      return out;
    };
    meta.labels = merge(meta.labels, patch.labels);
    meta.annotations = merge(meta.annotations, patch.annotations);
    this.node = { ...this.node, metadata: meta };
  }

  applyCondition(condition: NodeCondition | undefined, type: string): void {
    if (!this.node) return;
    const others = (this.node.status?.conditions ?? []).filter((c) => c.type !== type);
    const conditions = condition ? [...others, { ...condition, status: condition.status }] : others;
    this.node = { ...this.node, status: { ...(this.node.status ?? {}), conditions } };
  }
}
