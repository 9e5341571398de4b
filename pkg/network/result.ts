// What a CNI ADD returned, reduced to what the runtime needs: the pod's
// addresses. Results of spec 0.3.0 and later list `ips` (with the index of
// the interface each belongs to); 0.1/0.2 results have `ip4` and `ip6`.
import { isIP } from 'node:net';

interface RawInterface {
  name?: unknown;
  sandbox?: unknown;
}

interface RawIp {
  address?: unknown;
  interface?: unknown;
}

function addressOf(cidr: unknown): string | undefined {
  if (typeof cidr !== 'string') return undefined;
  const ip = cidr.split('/')[0]!;
  return isIP(ip) ? ip : undefined;
}

/**
 * The pod's IPs from a result, IPv4 first (the first is the primary IP).
 * Only addresses on the pod's interface `ifName` count when the result says
 * which interface each address is on.
 */
export function podIpsFromResult(result: unknown, ifName: string): string[] {
  if (typeof result !== 'object' || result === null) return [];
  const r = result as { ips?: unknown; interfaces?: unknown; ip4?: { ip?: unknown }; ip6?: { ip?: unknown } };
  const found: string[] = [];
  if (Array.isArray(r.ips)) {
    const interfaces = Array.isArray(r.interfaces) ? (r.interfaces as RawInterface[]) : [];
    const podIfaces = new Set<number>();
    interfaces.forEach((iface, i) => {
      if (iface?.name === ifName && typeof iface.sandbox === 'string' && iface.sandbox !== '') podIfaces.add(i);
    });
    for (const ip of r.ips as RawIp[]) {
      const addr = addressOf(ip?.address);
      if (!addr) continue;
      if (podIfaces.size > 0 && typeof ip.interface === 'number' && !podIfaces.has(ip.interface)) continue;
      found.push(addr);
    }
  } else {
    for (const block of [r.ip4, r.ip6]) {
      const addr = addressOf(block?.ip);
      if (addr) found.push(addr);
    }
  }
  const unique = [...new Set(found)];
  return [...unique.filter((a) => isIP(a) === 4), ...unique.filter((a) => isIP(a) === 6)];
}

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
