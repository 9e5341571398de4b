// CDI container edits applied to an OCI runtime spec, as the CDI reference
// implementation applies them: env replaces a variable of the same name or
// is appended; a device node replaces one at the same path and is allowed in
// the device cgroup; a mount replaces one at the same destination, and the
// mounts are then ordered parents first; hooks are appended by name;
// additional groups (0 ignored) are added once. Pure: returns a new spec.
import type { DeviceCgroupRule, Hook, Mount, Spec } from '../oci/runtime_spec';
import type { CdiEdits, DeviceNodeEdit } from './edits';

export interface ApplyOptions {
  /**
   * The container has its own user namespace, where device nodes cannot be
   * made: they are bind-mounted from the host instead (as for CRI devices).
   */
  userNamespace: boolean;
}

const envKey = (e: string): string => e.split('=', 1)[0]!;

function applyEnv(env: string[], add: readonly string[]): string[] {
  const out = [...env];
  const at = new Map<string, number>();
  out.forEach((e, i) => at.set(envKey(e), i));
  for (const e of add) {
    const i = at.get(envKey(e));
    if (i !== undefined) out[i] = e;
    else at.set(envKey(e), out.push(e) - 1);
  }
  return out;
}

function withoutMountAt(mounts: Mount[], destination: string): Mount[] {
  const i = mounts.findIndex((m) => m.destination === destination);
  return i < 0 ? mounts : [...mounts.slice(0, i), ...mounts.slice(i + 1)];
}

function cgroupRule(d: DeviceNodeEdit): DeviceCgroupRule | undefined {
  if (d.type === 'p' || d.access === '') return undefined;
  // 'u' (unbuffered) is a character device to the device cgroup.
  return { allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: d.access };
}

/** Path depth of a mount destination: parents sort before what is mounted below them. */
const depth = (destination: string): number => destination.replace(/\/+$/, '').split('/').filter((p) => p !== '').length;

export function applyCdiEdits(input: Spec, edits: CdiEdits, opts: ApplyOptions): Spec {
  const spec = structuredClone(input);
  if (edits.env.length > 0) spec.process.env = applyEnv(spec.process.env, edits.env);

  let mounts = spec.mounts;
  let devices = spec.linux.devices ?? [];
  const { uid, gid } = spec.process.user;
  for (const d of edits.deviceNodes) {
    devices = devices.filter((x) => x.path !== d.path);
    if (opts.userNamespace) {
      mounts = [...withoutMountAt(mounts, d.path), { destination: d.path, type: 'bind', source: d.hostPath, options: ['bind', 'rprivate', 'nosuid', 'noexec'] }];
    } else {
      devices.push({
        path: d.path,
        type: d.type,
        major: d.major,
        minor: d.minor,
        ...(d.fileMode !== undefined ? { fileMode: d.fileMode } : {}),
        // Unless the spec says, the node belongs to the container's user, as CDI does it.
        ...(d.uid !== undefined ? { uid: d.uid } : uid > 0 ? { uid } : {}),
        ...(d.gid !== undefined ? { gid: d.gid } : gid > 0 ? { gid } : {}),
      });
    }
    const rule = cgroupRule(d);
    if (rule) spec.linux.resources.devices.push(rule);
  }
  if (devices.length > 0) spec.linux.devices = devices;
  else delete spec.linux.devices;

  for (const m of edits.mounts) {
    const mount: Mount = { destination: m.containerPath, source: m.hostPath };
    if (m.type !== '') mount.type = m.type;
    if (m.options.length > 0) mount.options = [...m.options];
    mounts = [...withoutMountAt(mounts, m.containerPath), mount];
  }
  if (mounts !== spec.mounts) spec.mounts = [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));

  for (const h of edits.hooks) {
    const hook: Hook = { path: h.path };
    if (h.args.length > 0) hook.args = [...h.args];
    if (h.env.length > 0) hook.env = [...h.env];
    if (h.timeout !== undefined) hook.timeout = h.timeout;
    spec.hooks ??= {};
    (spec.hooks[h.hookName] ??= []).push(hook);
  }

  if (edits.intelRdt) {
    const r = edits.intelRdt;
    spec.linux.intelRdt = {
      ...(r.closID !== '' ? { closID: r.closID } : {}),
      ...(r.l3CacheSchema !== '' ? { l3CacheSchema: r.l3CacheSchema } : {}),
      ...(r.memBwSchema !== '' ? { memBwSchema: r.memBwSchema } : {}),
    };
  }

  const gids = spec.process.user.additionalGids ?? [];
  for (const g of edits.additionalGids) if (g !== 0 && !gids.includes(g)) gids.push(g);
  if (gids.length > 0) spec.process.user.additionalGids = gids;
  return spec;
}
