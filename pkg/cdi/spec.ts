// One CDI spec file (the Container Device Interface specification, versions
// 0.3.0 to 1.1.0): its text parsed (JSON or YAML, both as YAML 1.1 like the
// reference implementation, so that `fileMode: 0660` is octal), decoded
// strictly and validated. Pure: the caller reads the file.
import { parseDocument } from 'yaml';
import { boolean, CdiSpecError, fail, fields, integer, join, list, optionalString, string, stringMap, UINT32_MAX } from './decode';
import { deviceNameError, parseKind } from './names';
import { checkVersion } from './version';

export { CdiSpecError } from './decode';

export type CdiDeviceType = 'b' | 'c' | 'u' | 'p';

export interface CdiDeviceNode {
  /** Its path in the container. */
  path: string;
  /** Its path on the host; '' means `path`. */
  hostPath: string;
  /** '' when the spec leaves it to the host node. */
  type: CdiDeviceType | '';
  /** 0 when the spec leaves it to the host node. */
  major: number;
  minor: number;
  fileMode?: number;
  /** Device cgroup access: '' (rwm), 'none', or some of r, w, m. */
  permissions: string;
  uid?: number;
  gid?: number;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  options: string[];
  type: string;
}

export const CDI_HOOK_NAMES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type CdiHookName = (typeof CDI_HOOK_NAMES)[number];

export interface CdiHook {
  hookName: CdiHookName;
  path: string;
  args: string[];
  env: string[];
  timeout?: number;
}

export interface CdiIntelRdt {
  closID: string;
  l3CacheSchema: string;
  memBwSchema: string;
  schemata?: string[];
  enableMonitoring: boolean;
}

export interface CdiNetDevice {
  hostInterfaceName: string;
  name: string;
}

export interface CdiContainerEdits {
  env: string[];
  deviceNodes: CdiDeviceNode[];
  mounts: CdiMount[];
  hooks: CdiHook[];
  additionalGids: number[];
  intelRdt?: CdiIntelRdt;
  netDevices: CdiNetDevice[];
}

export interface CdiDevice {
  name: string;
  annotations: Record<string, string>;
  containerEdits: CdiContainerEdits;
}

export interface CdiSpec {
  cdiVersion: string;
  /** "vendor/class". */
  kind: string;
  annotations: Record<string, string>;
  devices: CdiDevice[];
  /** Applied once with any device of this spec. */
  containerEdits: CdiContainerEdits;
}

/** A spec file is a few KiB; bigger ones are refused unread. */
export const MAX_SPEC_BYTES = 4 << 20;
/** Bounds what YAML aliases can expand to. */
const MAX_ALIAS_COUNT = 1000;

/** Parses and validates the text of a spec file; throws CdiSpecError saying where and why. */
export function parseSpec(text: string): CdiSpec {
  const doc = parseDocument(text, {
    version: '1.1',
    uniqueKeys: true,
    merge: true,
    prettyErrors: false,
    // Go's YAML decoder keeps a date-like scalar as text unless the field is a time.
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new CdiSpecError(`not YAML or JSON: ${problem.message.split('\n')[0]}`);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new CdiSpecError(`not usable YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (raw === null || raw === undefined) throw new CdiSpecError('the file holds no spec');
  const spec = decodeSpec(raw);
  validateSpec(spec);
  return spec;
}

function decodeSpec(raw: unknown): CdiSpec {
  const f = fields(raw, '', ['cdiVersion', 'kind', 'annotations', 'devices', 'containerEdits'] as const);
  if (f.cdiVersion === undefined) fail('cdiVersion', 'is required');
  if (f.kind === undefined) fail('kind', 'is required');
  return {
    cdiVersion: string(f.cdiVersion, 'cdiVersion'),
    kind: string(f.kind, 'kind'),
    annotations: stringMap(f.annotations, 'annotations'),
    devices: list(f.devices, 'devices', decodeDevice),
    containerEdits: decodeEdits(f.containerEdits, 'containerEdits'),
  };
}

function decodeDevice(raw: unknown, where: string): CdiDevice {
  const f = fields(raw, where, ['name', 'annotations', 'containerEdits'] as const);
  return {
    name: optionalString(f.name, join(where, 'name')),
    annotations: stringMap(f.annotations, join(where, 'annotations')),
    containerEdits: decodeEdits(f.containerEdits, join(where, 'containerEdits')),
  };
}

function decodeEdits(raw: unknown, where: string): CdiContainerEdits {
  if (raw === undefined) return { env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [], netDevices: [] };
  const f = fields(raw, where, ['env', 'deviceNodes', 'netDevices', 'hooks', 'mounts', 'intelRdt', 'additionalGids'] as const);
  const edits: CdiContainerEdits = {
    env: list(f.env, join(where, 'env'), string),
    deviceNodes: list(f.deviceNodes, join(where, 'deviceNodes'), decodeDeviceNode),
    mounts: list(f.mounts, join(where, 'mounts'), decodeMount),
    hooks: list(f.hooks, join(where, 'hooks'), decodeHook),
    additionalGids: list(f.additionalGids, join(where, 'additionalGids'), (v, w) => integer(v, w, 0, UINT32_MAX)),
    netDevices: list(f.netDevices, join(where, 'netDevices'), decodeNetDevice),
  };
  if (f.intelRdt !== undefined) edits.intelRdt = decodeIntelRdt(f.intelRdt, join(where, 'intelRdt'));
  return edits;
}

function decodeDeviceNode(raw: unknown, where: string): CdiDeviceNode {
  const f = fields(raw, where, ['path', 'hostPath', 'type', 'major', 'minor', 'fileMode', 'permissions', 'uid', 'gid'] as const);
  const type = optionalString(f.type, join(where, 'type'));
  if (!['', 'b', 'c', 'u', 'p'].includes(type)) fail(join(where, 'type'), `${JSON.stringify(type)} is not one of b, c, u, p`);
  const node: CdiDeviceNode = {
    path: optionalString(f.path, join(where, 'path')),
    hostPath: optionalString(f.hostPath, join(where, 'hostPath')),
    type: type as CdiDeviceNode['type'],
    major: f.major === undefined ? 0 : integer(f.major, join(where, 'major'), 0, UINT32_MAX),
    minor: f.minor === undefined ? 0 : integer(f.minor, join(where, 'minor'), 0, UINT32_MAX),
    permissions: optionalString(f.permissions, join(where, 'permissions')),
  };
  if (f.fileMode !== undefined) node.fileMode = integer(f.fileMode, join(where, 'fileMode'), 0, UINT32_MAX);
  if (f.uid !== undefined) node.uid = integer(f.uid, join(where, 'uid'), 0, UINT32_MAX);
  if (f.gid !== undefined) node.gid = integer(f.gid, join(where, 'gid'), 0, UINT32_MAX);
  return node;
}

function decodeMount(raw: unknown, where: string): CdiMount {
  const f = fields(raw, where, ['hostPath', 'containerPath', 'options', 'type'] as const);
  return {
    hostPath: optionalString(f.hostPath, join(where, 'hostPath')),
    containerPath: optionalString(f.containerPath, join(where, 'containerPath')),
    options: list(f.options, join(where, 'options'), string),
    type: optionalString(f.type, join(where, 'type')),
  };
}

function decodeHook(raw: unknown, where: string): CdiHook {
  const f = fields(raw, where, ['hookName', 'path', 'args', 'env', 'timeout'] as const);
  const hookName = optionalString(f.hookName, join(where, 'hookName'));
  if (!(CDI_HOOK_NAMES as readonly string[]).includes(hookName)) fail(join(where, 'hookName'), `${JSON.stringify(hookName)} is not one of ${CDI_HOOK_NAMES.join(', ')}`);
  const hook: CdiHook = {
    hookName: hookName as CdiHookName,
    path: optionalString(f.path, join(where, 'path')),
    args: list(f.args, join(where, 'args'), string),
    env: list(f.env, join(where, 'env'), string),
  };
  // The spec: "If set, timeout MUST be greater than zero."
  if (f.timeout !== undefined) hook.timeout = integer(f.timeout, join(where, 'timeout'), 1, 2 ** 31 - 1);
  return hook;
}

function decodeIntelRdt(raw: unknown, where: string): CdiIntelRdt {
  const f = fields(raw, where, ['closID', 'l3CacheSchema', 'memBwSchema', 'schemata', 'enableMonitoring'] as const);
  const rdt: CdiIntelRdt = {
    closID: optionalString(f.closID, join(where, 'closID')),
    l3CacheSchema: optionalString(f.l3CacheSchema, join(where, 'l3CacheSchema')),
    memBwSchema: optionalString(f.memBwSchema, join(where, 'memBwSchema')),
    enableMonitoring: f.enableMonitoring === undefined ? false : boolean(f.enableMonitoring, join(where, 'enableMonitoring')),
  };
  if (f.schemata !== undefined) rdt.schemata = list(f.schemata, join(where, 'schemata'), string);
  return rdt;
}

function decodeNetDevice(raw: unknown, where: string): CdiNetDevice {
  const f = fields(raw, where, ['hostInterfaceName', 'name'] as const);
  return { hostInterfaceName: optionalString(f.hostInterfaceName, join(where, 'hostInterfaceName')), name: optionalString(f.name, join(where, 'name')) };
}

// ------------------------------------------------------------- validation

function validateSpec(spec: CdiSpec): void {
  checkVersion(spec);
  const kind = parseKind(spec.kind);
  if ('error' in kind) fail('kind', kind.error);
  validateEdits(spec.containerEdits, 'containerEdits');
  if (spec.devices.length === 0) fail('devices', 'a spec must define at least one device');
  const names = new Set<string>();
  spec.devices.forEach((d, i) => {
    const where = join('devices', i);
    const nameError = deviceNameError(d.name);
    if (nameError) fail(join(where, 'name'), nameError);
    if (names.has(d.name)) fail(join(where, 'name'), `device ${JSON.stringify(d.name)} is defined twice`);
    names.add(d.name);
    if (editsEmpty(d.containerEdits)) fail(join(where, 'containerEdits'), `device ${JSON.stringify(d.name)} has no container edits`);
    validateEdits(d.containerEdits, join(where, 'containerEdits'));
  });
}

function editsEmpty(e: CdiContainerEdits): boolean {
  return e.env.length + e.deviceNodes.length + e.mounts.length + e.hooks.length + e.additionalGids.length + e.netDevices.length === 0 && e.intelRdt === undefined;
}

const envError = (v: string): string | undefined => (v.indexOf('=') <= 0 ? `${JSON.stringify(v)} is not NAME=VALUE` : undefined);
const absolute = (p: string): boolean => p.startsWith('/');

function validateEdits(e: CdiContainerEdits, where: string): void {
  e.env.forEach((v, i) => {
    const err = envError(v);
    if (err) fail(join(join(where, 'env'), i), err);
  });
  e.deviceNodes.forEach((d, i) => {
    const at = join(join(where, 'deviceNodes'), i);
    if (!absolute(d.path)) fail(join(at, 'path'), d.path === '' ? 'is required' : `${JSON.stringify(d.path)} is not an absolute path`);
    if (d.hostPath !== '' && !absolute(d.hostPath)) fail(join(at, 'hostPath'), `${JSON.stringify(d.hostPath)} is not an absolute path`);
    if (d.permissions !== '' && d.permissions !== 'none' && !/^[rwm]+$/.test(d.permissions)) {
      fail(join(at, 'permissions'), `${JSON.stringify(d.permissions)} is not "none" or made of r, w and m`);
    }
  });
  e.mounts.forEach((m, i) => {
    const at = join(join(where, 'mounts'), i);
    if (m.hostPath === '') fail(join(at, 'hostPath'), 'is required');
    if (!absolute(m.containerPath)) fail(join(at, 'containerPath'), m.containerPath === '' ? 'is required' : `${JSON.stringify(m.containerPath)} is not an absolute path`);
  });
  e.hooks.forEach((h, i) => {
    const at = join(join(where, 'hooks'), i);
    // The spec: "path MUST be absolute".
    if (!absolute(h.path)) fail(join(at, 'path'), h.path === '' ? 'is required' : `${JSON.stringify(h.path)} is not an absolute path`);
    h.env.forEach((v, j) => {
      const err = envError(v);
      if (err) fail(join(join(at, 'env'), j), err);
    });
  });
  if (e.intelRdt) {
    const c = e.intelRdt.closID;
    if (c !== '/' && (c.length >= 4096 || c === '.' || c === '..' || /[/\n]/.test(c))) fail(join(join(where, 'intelRdt'), 'closID'), `${JSON.stringify(c)} is not a valid CLOS name`);
  }
  const hosts = new Set<string>();
  const names = new Set<string>();
  e.netDevices.forEach((n, i) => {
    const at = join(join(where, 'netDevices'), i);
    if (n.hostInterfaceName === '') fail(join(at, 'hostInterfaceName'), 'is required');
    if (n.name === '') fail(join(at, 'name'), 'is required');
    if (hosts.has(n.hostInterfaceName)) fail(join(at, 'hostInterfaceName'), `${JSON.stringify(n.hostInterfaceName)} is given twice`);
    if (names.has(n.name)) fail(join(at, 'name'), `${JSON.stringify(n.name)} is given twice`);
    hosts.add(n.hostInterfaceName);
    names.add(n.name);
  });
}
