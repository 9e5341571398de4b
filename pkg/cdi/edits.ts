// From the requested device names to the container edits to apply: each
// device's spec-wide edits once (before its first device's), then the
// device's own, in request order, merged as the CDI reference implementation
// merges them. Unknown devices and edits Krill cannot apply are refused here,
// before anything is created. Pure: the host's device nodes are read by the
// caller (see completeDeviceNode).
import { invalidArgument, KrillError } from '../errors/errors';
import type { HostDevice } from '../oci/devices';
import type { CdiRegistry } from './registry';
import type { RequestedDevice } from './request';
import type { CdiContainerEdits, CdiDeviceNode, CdiHook, CdiIntelRdt, CdiMount } from './spec';

/** A device node with where it came from, for messages. */
export interface PendingDeviceNode {
  node: CdiDeviceNode;
  /** The requested device it belongs to (or whose spec-wide edits it is part of). */
  device: string;
  specPath: string;
}

/** A device node as it goes into the OCI spec: every field the runtime needs known. */
export interface DeviceNodeEdit {
  path: string;
  hostPath: string;
  type: 'b' | 'c' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  /** Device cgroup access ('' for none). */
  access: string;
  uid?: number;
  gid?: number;
}

interface MergedEdits<Node> {
  /** The devices these edits are for, fully qualified, in request order. */
  devices: string[];
  env: string[];
  deviceNodes: Node[];
  mounts: CdiMount[];
  hooks: CdiHook[];
  additionalGids: number[];
  intelRdt?: CdiIntelRdt;
}

/** Edits whose device nodes still need the host's facts. */
export type SelectedEdits = MergedEdits<PendingDeviceNode>;
/** Edits ready for applyCdiEdits. */
export type CdiEdits = MergedEdits<DeviceNodeEdit>;

/**
 * The merged edits of `requested`. InvalidArgument names every device no spec
 * defines (with the fields that asked for it); Unimplemented names a device
 * whose edits this runtime cannot apply.
 */
export function selectEdits(registry: CdiRegistry, requested: readonly RequestedDevice[], specDirs: readonly string[]): SelectedEdits {
  const unknown = requested.filter((r) => !registry.devices.has(r.name));
  if (unknown.length > 0) {
    const where = specDirs.length > 0 ? `the CDI spec directories (${specDirs.join(', ')})` : 'any CDI spec directory (runtime.cdi_spec_dirs is empty)';
    const list = unknown.map((u) => `${JSON.stringify(u.name)} (${u.field})`).join(', ');
    throw invalidArgument(`unknown CDI device${unknown.length > 1 ? 's' : ''} ${list}: not defined by any spec in ${where}`);
  }
  const out: SelectedEdits = { devices: [], env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] };
  const specsDone = new Set<string>();
  const append = (edits: CdiContainerEdits, device: string, specPath: string): void => {
    if (edits.netDevices.length > 0) {
      throw new KrillError('Unimplemented', `CDI device ${JSON.stringify(device)} (${specPath}) moves network interfaces into the container (netDevices), which Krill does not support`);
    }
    if (edits.intelRdt && (edits.intelRdt.schemata !== undefined || edits.intelRdt.enableMonitoring)) {
      throw new KrillError('Unimplemented', `CDI device ${JSON.stringify(device)} (${specPath}) sets intelRdt.schemata or enableMonitoring (OCI runtime spec 1.3), which Krill does not support`);
    }
    out.env.push(...edits.env);
    out.deviceNodes.push(...edits.deviceNodes.map((node) => ({ node, device, specPath })));
    out.mounts.push(...edits.mounts);
    out.hooks.push(...edits.hooks);
    out.additionalGids.push(...edits.additionalGids);
    if (edits.intelRdt) out.intelRdt = edits.intelRdt;
  };
  for (const r of requested) {
    const { device, from } = registry.devices.get(r.name)!;
    if (!specsDone.has(from.path)) {
      specsDone.add(from.path);
      append(from.spec.containerEdits, r.name, from.path);
    }
    append(device.containerEdits, r.name, from.path);
    out.devices.push(r.name);
  }
  return out;
}

/** The host path whose node fills in what a spec leaves out. */
export const nodeHostPath = (n: CdiDeviceNode): string => (n.hostPath !== '' ? n.hostPath : n.path);

/** The host node as lstat(2) found it, or why not. */
export type HostNodeLookup = { device: HostDevice } | { error: string };

/**
 * A device node with type, numbers and mode taken from the host node where
 * the spec leaves them out, as the CDI reference implementation fills them:
 * a node given with its type and major (a FIFO: its type) needs no host
 * node, any other does, and its type must agree with the spec's.
 */
export function completeDeviceNode(p: PendingDeviceNode, host: HostNodeLookup): DeviceNodeEdit {
  const { node } = p;
  const hostPath = nodeHostPath(node);
  const minimal = node.type !== '' && (node.major !== 0 || node.type === 'p');
  const where = `CDI device ${JSON.stringify(p.device)} (${p.specPath}): device node ${hostPath}`;
  if ('error' in host && !minimal) throw new KrillError('FailedPrecondition', `${where}: ${host.error}`);
  const found = 'device' in host ? host.device : undefined;
  let type = node.type;
  let major = node.major;
  let minor = node.minor;
  if (!minimal && found) {
    if (type === '') type = found.type;
    // The reference implementation compares the spec's letter with the host's, so "u" only works fully given.
    if (type !== found.type) throw new KrillError('FailedPrecondition', `${where}: the spec says type ${type}, the host node is of type ${found.type}`);
    if (type !== 'p' && major === 0) {
      major = found.major;
      minor = found.minor;
    }
  }
  const edit: DeviceNodeEdit = { path: node.path, hostPath, type: type as DeviceNodeEdit['type'], major, minor, access: accessOf(node.permissions) };
  const fileMode = node.fileMode ?? found?.fileMode;
  if (fileMode !== undefined) edit.fileMode = fileMode & 0o7777;
  if (node.uid !== undefined) edit.uid = node.uid;
  if (node.gid !== undefined) edit.gid = node.gid;
  return edit;
}

/** '' → rwm, "none" → no access, else the letters given, each once, in rwm order. */
function accessOf(permissions: string): string {
  if (permissions === '') return 'rwm';
  if (permissions === 'none') return '';
  return [...'rwm'].filter((c) => permissions.includes(c)).join('');
}

/** `selected` with its device nodes completed from `lookups` (one per node, in order). */
export function completeEdits(selected: SelectedEdits, lookups: readonly HostNodeLookup[]): CdiEdits {
  return { ...selected, deviceNodes: selected.deviceNodes.map((p, i) => completeDeviceNode(p, lookups[i]!)) };
}
