// Checks a RunPodSandbox request completely before anything is created, and
// turns it into a PodSpec. Every refusal names the field.
import { isIP } from 'node:net';
import { NamespaceMode, Protocol, type IDMapping, type RunPodSandboxRequest } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import { bandwidthFromAnnotations, BandwidthError } from '../network/bandwidth';
import type { CniPortMapping } from '../network/manager';
import { hasDnsSettings, type DnsSettings } from './files';
import { checkSysctl, type SysctlSetting } from './sysctl';
import type { NamespaceModes, PodSpec, UserNamespaceMappings } from './types';

export interface ValidationContext {
  /** Configured runtime handler names. */
  handlers: readonly string[];
  defaultHandler: string;
  /** The node's hostname: a pod that names none gets it. */
  nodeHostname: string;
  /** Throws (with the reason) when the cgroup driver cannot take this parent. */
  checkCgroupParent(parent: string): void;
}

const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const MAX_HOSTNAME = 64;
const DNS_WORD_RE = /^[^\s#;]+$/;

/** The identity of a pod on this node: name, namespace, uid, attempt. */
export function podKey(name: string, namespace: string, uid: string, attempt: number): string {
  return JSON.stringify([name, namespace, uid, attempt]);
}

function modeName(mode: NamespaceMode): string {
  return NamespaceMode[mode] ?? String(mode);
}

function namespaceModes(req: RunPodSandboxRequest): NamespaceModes {
  const opts = req.config!.linux?.securityContext?.namespaceOptions;
  const field = 'config.linux.security_context.namespace_options';
  // Without namespace options every mode is the CRI default, POD: the pod's
  // containers share one pid namespace (kubelet itself always sends CONTAINER
  // for pods that do not ask to share it).
  if (!opts) return { network: 'pod', ipc: 'pod', uts: 'pod', pid: 'pod', user: 'node' };
  const podOrNode = (mode: NamespaceMode, name: string): 'pod' | 'node' => {
    if (mode === NamespaceMode.POD) return 'pod';
    if (mode === NamespaceMode.NODE) return 'node';
    throw invalidArgument(`${field}.${name} must be POD or NODE, not ${modeName(mode)}`);
  };
  const network = podOrNode(opts.network, 'network');
  const ipc = podOrNode(opts.ipc, 'ipc');
  let pid: NamespaceModes['pid'];
  if (opts.pid === NamespaceMode.POD) pid = 'pod';
  else if (opts.pid === NamespaceMode.CONTAINER) pid = 'container';
  else if (opts.pid === NamespaceMode.NODE) pid = 'node';
  else throw invalidArgument(`${field}.pid must be POD, CONTAINER or NODE, not ${modeName(opts.pid)}`);
  let user: 'pod' | 'node' = 'node';
  if (opts.usernsOptions) user = podOrNode(opts.usernsOptions.mode, 'userns_options.mode');
  return { network, ipc, uts: network, pid, user };
}

// As kubelet sends them (and critest demands): one range, starting at container ID 0.
function checkMappings(list: IDMapping[], field: string): IDMapping[] {
  if (list.length !== 1) throw invalidArgument(`${field} must hold exactly one mapping when the pod has its own user namespace, not ${list.length}`);
  const m = list[0]!;
  if (m.containerId !== 0) throw invalidArgument(`${field}[0].container_id must be 0: the pod's root must be mapped`);
  if (m.length <= 0) throw invalidArgument(`${field}[0].length must be positive`);
  if (m.hostId + m.length > 2 ** 32 - 1) throw invalidArgument(`${field}[0] exceeds the 32-bit ID space`);
  return [{ hostId: m.hostId, containerId: m.containerId, length: m.length }];
}

function userNamespace(req: RunPodSandboxRequest, modes: NamespaceModes): UserNamespaceMappings | undefined {
  if (modes.user !== 'pod') return undefined;
  const u = req.config!.linux!.securityContext!.namespaceOptions!.usernsOptions!;
  const field = 'config.linux.security_context.namespace_options.userns_options';
  if (modes.network === 'node' || modes.ipc === 'node' || modes.pid === 'node') {
    throw invalidArgument(`${field}: a pod with its own user namespace cannot use the node's network, IPC or pid namespace`);
  }
  return { uids: checkMappings(u.uids, `${field}.uids`), gids: checkMappings(u.gids, `${field}.gids`) };
}

function portMappings(req: RunPodSandboxRequest): CniPortMapping[] {
  const out: CniPortMapping[] = [];
  req.config!.portMappings.forEach((pm, i) => {
    const field = `config.port_mappings[${i}]`;
    if (!Number.isInteger(pm.hostPort) || pm.hostPort < 0 || pm.hostPort > 65535) throw invalidArgument(`${field}.host_port must be 0..65535`);
    if (!Number.isInteger(pm.containerPort) || pm.containerPort < 0 || pm.containerPort > 65535) throw invalidArgument(`${field}.container_port must be 0..65535`);
    if (pm.hostIp !== '' && isIP(pm.hostIp) === 0) throw invalidArgument(`${field}.host_ip ${JSON.stringify(pm.hostIp)} is not an IP address`);
    const protocol = pm.protocol === Protocol.TCP ? 'tcp' : pm.protocol === Protocol.UDP ? 'udp' : pm.protocol === Protocol.SCTP ? 'sctp' : undefined;
    if (!protocol) throw invalidArgument(`${field}.protocol is not TCP, UDP or SCTP`);
    // Mappings without a host port only document the container's ports.
    if (pm.hostPort === 0) return;
    if (pm.containerPort === 0) throw invalidArgument(`${field}.container_port is required with a host_port`);
    out.push({ hostPort: pm.hostPort, containerPort: pm.containerPort, protocol, ...(pm.hostIp ? { hostIP: pm.hostIp } : {}) });
  });
  return out;
}

function dnsSettings(req: RunPodSandboxRequest): DnsSettings | undefined {
  const dns = req.config!.dnsConfig;
  if (!dns) return undefined;
  dns.servers.forEach((s, i) => {
    if (isIP(s) === 0) throw invalidArgument(`config.dns_config.servers[${i}] ${JSON.stringify(s)} is not an IP address`);
  });
  for (const [name, list] of [['searches', dns.searches], ['options', dns.options]] as const) {
    list.forEach((w, i) => {
      if (!DNS_WORD_RE.test(w)) throw invalidArgument(`config.dns_config.${name}[${i}] ${JSON.stringify(w)} must be one word`);
    });
  }
  return { servers: [...dns.servers], searches: [...dns.searches], options: [...dns.options] };
}

function sysctls(req: RunPodSandboxRequest, modes: NamespaceModes): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  const owned = { ipc: modes.ipc === 'pod', net: modes.network === 'pod', uts: modes.uts === 'pod' };
  for (const [key, value] of Object.entries(req.config!.linux?.sysctls ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === 'kernel.hostname') throw invalidArgument('config.linux.sysctls["kernel.hostname"]: set config.hostname instead');
    const checked = checkSysctl(key, value, owned);
    if (typeof checked === 'string') throw invalidArgument(`config.linux.sysctls[${JSON.stringify(key)}] ${checked}`);
    out.push(checked);
  }
  return out;
}

export function validateRunRequest(req: RunPodSandboxRequest, ctx: ValidationContext): PodSpec {
  const config = req.config;
  if (!config) throw invalidArgument('config is required');
  const md = config.metadata;
  if (!md) throw invalidArgument('config.metadata is required');
  for (const f of ['name', 'namespace', 'uid'] as const) {
    if (!md[f]) throw invalidArgument(`config.metadata.${f} is required`);
    if (/[\0\n]/.test(md[f])) throw invalidArgument(`config.metadata.${f} has invalid characters`);
  }
  const handler = req.runtimeHandler || ctx.defaultHandler;
  if (!ctx.handlers.includes(handler)) {
    throw invalidArgument(`runtime_handler ${JSON.stringify(req.runtimeHandler)} is not configured (known: ${ctx.handlers.join(', ')})`);
  }
  const modes = namespaceModes(req);
  const userns = userNamespace(req, modes);
  let hostname = config.hostname;
  if (hostname !== '' && (hostname.length > MAX_HOSTNAME || !HOSTNAME_RE.test(hostname))) {
    throw invalidArgument(`config.hostname ${JSON.stringify(hostname)} is not a valid hostname`);
  }
  // A host-network pod has the node's UTS namespace, hence its hostname.
  if (modes.uts === 'node' || hostname === '') hostname = ctx.nodeHostname;
  if (config.logDirectory !== '' && !config.logDirectory.startsWith('/')) throw invalidArgument('config.log_directory must be an absolute path');
  const cgroupParent = config.linux?.cgroupParent ?? '';
  if (cgroupParent !== '') {
    try {
      ctx.checkCgroupParent(cgroupParent);
    } catch (err) {
      throw invalidArgument(`config.linux.cgroup_parent: ${(err as Error).message}`);
    }
  }
  const oom = config.linux?.overhead?.oomScoreAdj ?? 0n;
  if (oom < -1000n || oom > 1000n) throw invalidArgument('config.linux.overhead.oom_score_adj must be -1000..1000');
  let bandwidth;
  try {
    bandwidth = bandwidthFromAnnotations(config.annotations);
  } catch (err) {
    if (err instanceof BandwidthError) throw invalidArgument(`config.annotations: ${err.message}`);
    throw err;
  }
  const dns = dnsSettings(req);
  return {
    config,
    key: podKey(md.name, md.namespace, md.uid, md.attempt),
    runtimeHandler: req.runtimeHandler,
    handler,
    hostname,
    modes,
    ...(userns ? { userns } : {}),
    sysctls: sysctls(req, modes),
    portMappings: modes.network === 'pod' ? portMappings(req) : [],
    ...(bandwidth && modes.network === 'pod' ? { bandwidth } : {}),
    ...(hasDnsSettings(dns) ? { dns } : {}),
    cgroupParent,
  };
}
