// Networks the bench gives each runtime: a bridge name and a /24 that no
// route on the host uses yet, so that nothing collides with another runtime
// (or another bench, or a test run) on the machine.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { run } from './exec';

export interface BenchNetwork {
  bridge: string;
  subnet: string;
  /** The first three octets, e.g. "10.231.7". */
  prefix: string;
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
    const prefix = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`;
    if (routes.includes(`${prefix}.`) || taken.some((n) => n.prefix === prefix)) continue;
    return { bridge: `kb${tag}${randomBytes(3).toString('hex')}`.slice(0, 15), subnet: `${prefix}.0/24`, prefix };
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
    for (const line of r.stdout.split('\n')) if (line.includes(`${net.prefix}.`)) out.push(`${table}: ${line}`);
  }
  return out;
}
