// Networks the bench gives each runtime: a bridge name and a /22 (room for
// 1,000 pods: the list bench runs 500) that no route on the host uses yet, so that nothing collides with another runtime
// (or another bench, or a test run) on the machine.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { run } from './exec';

export interface BenchNetwork {
  bridge: string;
  subnet: string;
  /** The first three octets of the subnet's first /24, e.g. "10.231.4". */
  prefix: string;
  /** The first three octets of each of its four /24s. */
  prefixes: string[];
}

function usedRoutes(): string {
  try {
    return execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** `tag` goes into the bridge name (at most 15 characters in all). */
export function pickNetwork(tag: string, taken: readonly BenchNetwork[] = []): BenchNetwork {
  const routes = usedRoutes();
  for (;;) {
    const second = randomInt(200, 255);
    const third = randomInt(0, 64) * 4;
    const prefixes = [0, 1, 2, 3].map((i) => `10.${second}.${third + i}`);
    if (prefixes.some((p) => routes.includes(`${p}.`) || taken.some((n) => n.prefixes.includes(p)))) continue;
    return { bridge: `kb${tag}${randomBytes(3).toString('hex')}`.slice(0, 15), subnet: `${prefixes[0]}.0/22`, prefix: prefixes[0]!, prefixes };
  }
}

/** Deletes the bridge if it exists. */
export async function deleteBridge(name: string): Promise<void> {
  const exists = await run('ip', ['link', 'show', name]);
  if (exists.code !== 0) return;
  const r = await run('ip', ['link', 'del', name]);
  if (r.code !== 0) throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
}

/** iptables rules (any table) that mention the network's subnet: CNI must have removed them all. */
export async function rulesMentioning(net: BenchNetwork): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['nat', 'filter', 'mangle']) {
    const r = await run('iptables', ['-w', '-t', table, '-S']);
    for (const line of r.stdout.split('\n')) if (net.prefixes.some((p) => line.includes(`${p}.`))) out.push(`${table}: ${line}`);
  }
  return out;
}
