// Which subnets the embedded default network allocates from, given what
// kubelet asked for (UpdateRuntimeConfig's pod CIDR, else default_subnet) and
// what the bridge already carries. The bridge plugin refuses a bridge whose
// gateway address is of another subnet, so a pod CIDR that arrives after the
// first pods (kubelet sends it once the node has one) would fail every later
// pod: an idle bridge with a stale address is deleted (the plugin makes it
// again), a bridge with pods on it keeps its subnet until they are gone.
import { readdirSync } from 'node:fs';
import { isIPv4 } from 'node:net';

export interface BridgeState {
  exists: boolean;
  /** The bridge's addresses as CIDRs (e.g. 10.88.0.1/16). */
  addresses: string[];
  /** Interfaces attached to it (pods' veths). */
  ports: number;
}

export interface SubnetDecision {
  /** What new pods allocate from. */
  subnets: string[];
  /** The bridge holds an address outside `subnets` and no pod: delete it first. */
  deleteBridge: boolean;
  /** Set when the wanted subnets wait for the pods on the bridge's old ones. */
  pending?: string;
}

/** The network a CIDR (address/prefix) is in, as network/prefix. */
export function networkOf(cidr: string): string {
  const [addr, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!addr || !Number.isInteger(prefix)) throw new Error(`not a CIDR: ${cidr}`);
  if (isIPv4(addr)) {
    const n = addr.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const net = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 0xff).join('.')}/${prefix}`;
  }
  return `${expandV6Network(addr, prefix)}/${prefix}`;
}

function expandV6Network(addr: string, prefix: number): string {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const bits = groups.map((g) => parseInt(g || '0', 16));
  const out = bits.map((g, i) => {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    return (g & mask).toString(16);
  });
  return out.join(':');
}

function sameNetwork(a: string, b: string): boolean {
  try {
    return networkOf(a) === networkOf(b);
  } catch {
    return false;
  }
}

export function decideDefaultSubnets(wanted: readonly string[], bridge: BridgeState): SubnetDecision {
  const stale = bridge.addresses.filter((a) => !wanted.some((w) => sameNetwork(a, w)));
  if (!bridge.exists || stale.length === 0) return { subnets: [...wanted], deleteBridge: false };
  if (bridge.ports === 0) return { subnets: [...wanted], deleteBridge: true };
  return {
    subnets: bridge.addresses.map(networkOf),
    deleteBridge: false,
    pending: `${wanted.join(', ')} waits until the ${bridge.ports} pod interface(s) on the bridge's ${stale.join(', ')} are gone`,
  };
}

/** The IPv4 and global IPv6 addresses of `ip -j addr show dev X`'s output, as CIDRs. */
export function addressesFromIpJson(text: string): string[] {
  const links = JSON.parse(text) as { addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[] }[];
  const out: string[] = [];
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      if ((a.family === 'inet' || (a.family === 'inet6' && a.scope === 'global')) && a.local && a.prefixlen !== undefined) out.push(`${a.local}/${a.prefixlen}`);
    }
  }
  return out;
}

/** The bridge as the host has it now (its addresses even while it is down: os.networkInterfaces() skips those). */
export async function readBridge(name: string, ipAddrJson: (name: string) => Promise<string>): Promise<BridgeState> {
  let ports: number;
  try {
    ports = readdirSync(`/sys/class/net/${name}/brif`).length;
  } catch {
    return { exists: false, addresses: [], ports: 0 };
  }
  return { exists: true, addresses: addressesFromIpJson(await ipAddrJson(name)), ports };
}
