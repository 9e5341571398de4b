// Linux capabilities of the container's process: the default set, the
// request's add/drop (ALL included) and ambient ones, or everything krilld
// itself holds for a privileged container.
import type { LinuxContainerSecurityContext } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { Capabilities } from './runtime_spec';

/** Every capability by number (capability.h, up to Linux 6.x). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The set Docker and containerd give a container by default. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const RANK: ReadonlyMap<string, number> = new Map(KNOWN_CAPABILITIES.map((c, i) => [c, i]));

/** The capability names of a mask as /proc/<pid>/status shows it (CapBnd: 000001ffffffffff). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return KNOWN_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all name CAP_NET_ADMIN; undefined if unknown. */
export function normalizeCapability(name: string): string | undefined {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return RANK.has(full) ? full : undefined;
}

const sorted = (caps: Iterable<string>): string[] => [...caps].sort((a, b) => RANK.get(a)! - RANK.get(b)!);

export interface CapabilityInput {
  securityContext: LinuxContainerSecurityContext | undefined;
  /** What krilld holds (its bounding set): a container cannot get more. */
  hostCapabilities: readonly string[];
  /** The base set before add/drop. */
  defaults: readonly string[];
}

const FIELD = 'config.linux.security_context.capabilities';

export function resolveCapabilities(input: CapabilityInput): Capabilities {
  const host = new Set(input.hostCapabilities.map((c) => normalizeCapability(c)).filter((c) => c !== undefined));
  const sc = input.securityContext;
  if (sc?.privileged) {
    const all = sorted(host);
    return { bounding: all, effective: [...all], permitted: [...all] };
  }
  const caps = sc?.capabilities;
  const parse = (list: readonly string[], key: string): { all: boolean; names: string[] } => {
    let all = false;
    const names: string[] = [];
    list.forEach((raw, i) => {
      if (raw.trim().toUpperCase() === 'ALL') {
        all = true;
        return;
      }
      const name = normalizeCapability(raw);
      if (!name) throw invalidArgument(`${FIELD}.${key}[${i}]: unknown capability ${JSON.stringify(raw)}`);
      if (key !== 'drop_capabilities' && !host.has(name)) {
        throw invalidArgument(`${FIELD}.${key}[${i}]: ${name} is not available to the runtime on this node`);
      }
      names.push(name);
    });
    return { all, names };
  };
  const add = parse(caps?.addCapabilities ?? [], 'add_capabilities');
  const drop = parse(caps?.dropCapabilities ?? [], 'drop_capabilities');
  const ambient = parse(caps?.addAmbientCapabilities ?? [], 'add_ambient_capabilities');
  if (ambient.all) throw invalidArgument(`${FIELD}.add_ambient_capabilities: ALL is not allowed`);

  // Order as containerd and CRI-O apply it: ALL first, so that individual
  // entries refine it ("add ALL, drop CHOWN"); drops win over adds.
  const set = new Set<string>();
  for (const c of input.defaults) {
    const name = normalizeCapability(c);
    if (name && host.has(name)) set.add(name);
  }
  if (add.all) for (const c of host) set.add(c);
  if (drop.all) set.clear();
  for (const c of add.names) set.add(c);
  for (const c of drop.names) set.delete(c);
  // An ambient capability must be permitted and inheritable too.
  const amb = ambient.names.filter((c) => !drop.names.includes(c));
  for (const c of amb) set.add(c);

  const base = sorted(set);
  const out: Capabilities = { bounding: base, effective: [...base], permitted: [...base] };
  if (amb.length > 0) {
    out.ambient = sorted(new Set(amb));
    out.inheritable = [...out.ambient];
  }
  return out;
}
