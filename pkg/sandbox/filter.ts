// ListPodSandbox and ListPodSandboxStats filters: every criterion given must hold.
import type { PodSandboxState } from '../../api/runtime/v1/api';

export interface SandboxFilter {
  /** An ID or the start of one; empty matches any. */
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export interface Filterable {
  id: string;
  state: PodSandboxState;
  labels: Record<string, string>;
}

export function matchesFilter(item: Filterable, filter: SandboxFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.id && !item.id.startsWith(filter.id)) return false;
  if (filter.state !== undefined && item.state !== filter.state) return false;
  for (const [k, v] of Object.entries(filter.labelSelector ?? {})) {
    if (item.labels[k] !== v) return false;
  }
  return true;
}
