// oom_score_adj is never set below krilld's own: a node may deny
// CAP_SYS_RESOURCE (lowering it then fails with EACCES), and a pod must still
// start. Containers use the same rule.
import { readFile } from 'node:fs/promises';

/** What CRI runtimes give the process that holds a pod (the pause container). */
export const INFRA_OOM_SCORE_ADJ = -998;

export async function readOwnOomScoreAdj(): Promise<number> {
  const text = await readFile('/proc/self/oom_score_adj', 'utf8');
  const n = Number(text.trim());
  return Number.isInteger(n) ? n : 0;
}

/** `requested`, or `floor` when lower; both within -1000..1000. */
export function clampOomScoreAdj(requested: number, floor: number): number {
  const r = Math.max(-1000, Math.min(1000, requested));
  return Math.max(r, floor);
}
