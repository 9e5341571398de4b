// Feature labels under krill.dev/: what the node offers, from krilld's Status
// and Version and from the host, and the merge patch that brings a Node's
// labels there. Pure.
import type { RuntimeHandler } from '../../api/runtime/v1/api';

export const LABEL_PREFIX = 'krill.dev/';
export const READY_LABEL = 'krill.dev/ready';
/** Handlers the agent labels (krill.dev/handler.<name>=true when offered). */
export const LABELLED_HANDLERS: readonly string[] = ['runc', 'crun'];

const FIXED_LABELS: readonly string[] = [
  READY_LABEL,
  'krill.dev/version',
  'krill.dev/userns',
  'krill.dev/cgroup',
  'krill.dev/seccomp',
  'krill.dev/rro-mounts',
  ...LABELLED_HANDLERS.map((h) => `krill.dev/handler.${h}`),
];

/** The label keys this agent owns (and removes at uninstall). */
export function ownedLabel(key: string): boolean {
  return FIXED_LABELS.includes(key);
}

export interface HostFacts {
  cgroup: 'v1' | 'v2';
  /** The kernel filters syscalls with seccomp. */
  seccomp: boolean;
}

export interface RuntimeFacts {
  runtimeVersion: string;
  handlers: RuntimeHandler[];
}

/** Makes any text a valid label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends ('' stays ''). */
export function labelValue(text: string): string {
  let v = text.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63);
  v = v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return v;
}

export function isValidLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(v));
}

/** The full set of feature labels from a successful sync. */
export function featureLabels(ready: boolean, runtime: RuntimeFacts, host: HostFacts): Record<string, string> {
  const byName = new Map(runtime.handlers.map((h) => [h.name, h]));
  const defaultHandler = byName.get('') ?? runtime.handlers[0];
  const out: Record<string, string> = {
    [READY_LABEL]: String(ready),
    'krill.dev/userns': String(defaultHandler?.features?.userNamespaces ?? false),
    'krill.dev/rro-mounts': String(defaultHandler?.features?.recursiveReadOnlyMounts ?? false),
    'krill.dev/cgroup': host.cgroup,
    'krill.dev/seccomp': String(host.seccomp),
  };
  const version = labelValue(runtime.runtimeVersion);
  if (version !== '') out['krill.dev/version'] = version;
  for (const h of LABELLED_HANDLERS) if (byName.has(h)) out[`krill.dev/handler.${h}`] = 'true';
  return out;
}

/**
 * The JSON merge patch of metadata.labels that turns `current` into `desired` for the owned keys:
 * changed or new values set, owned keys not desired set to null — but only once a sync has
 * succeeded (`synced`); before that nothing is removed. Undefined when nothing changes.
 */
export function labelPatch(current: Readonly<Record<string, string>>, desired: Readonly<Record<string, string>>, synced: boolean): Record<string, string | null> | undefined {
  const patch: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(desired)) if (current[k] !== v) patch[k] = v;
  if (synced) for (const k of Object.keys(current)) if (ownedLabel(k) && !(k in desired)) patch[k] = null;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** Removes every owned label (uninstall). Undefined when the Node carries none. */
export function labelRemovalPatch(current: Readonly<Record<string, string>>): Record<string, null> | undefined {
  const patch: Record<string, null> = {};
  for (const k of Object.keys(current)) if (ownedLabel(k)) patch[k] = null;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
