// The conmon processes of one test krilld, found by their command lines
// (each names the container with -c and paths under the krilld's directory).
import { readdirSync, readFileSync } from 'node:fs';
import type { Krilld } from './krilld';

export interface ConmonProcess {
  pid: number;
  containerId: string;
}

export function conmonsOf(k: Pick<Krilld, 'dir'>): ConmonProcess[] {
  const out: ConmonProcess[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (argv[0]?.endsWith('conmon') && argv.some((a) => a.startsWith(k.dir))) out.push({ pid: Number(e), containerId: argv[argv.indexOf('-c') + 1] ?? '' });
  }
  return out;
}
