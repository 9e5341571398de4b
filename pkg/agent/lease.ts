// The restart Lease pool: at most KRILL_AGENT_MAX_RESTARTS nodes restart krilld
// at once, each holding one coordination.k8s.io Lease krill-restart-<i> in the
// agent's namespace (holderIdentity = node name). Pure: which Lease to take.

export const LEASE_PREFIX = 'krill-restart-';

export function leaseNames(max: number): string[] {
  return Array.from({ length: max }, (_, i) => `${LEASE_PREFIX}${i}`);
}

/** One Lease of the pool as read (exists false: there is none by that name). */
export interface LeaseView {
  name: string;
  exists: boolean;
  holder: string;
  /** ms since the epoch; undefined when never renewed. */
  renewTime: number | undefined;
  durationSeconds: number;
}

export type LeaseChoice = { action: 'create' | 'take'; name: string } | { action: 'held'; name: string } | { action: 'wait' };

/**
 * Which Lease this node takes: one it holds already; else a name with no Lease (create); else a
 * released one, an expired one, or one held by a node that no longer exists (take over); else wait.
 */
export function chooseLease(pool: readonly LeaseView[], me: string, nodeExists: (name: string) => boolean, now: number): LeaseChoice {
  const mine = pool.find((l) => l.exists && l.holder === me);
  if (mine) return { action: 'held', name: mine.name };
  const absent = pool.find((l) => !l.exists);
  if (absent) return { action: 'create', name: absent.name };
  const free = pool.find((l) => l.holder === '');
  if (free) return { action: 'take', name: free.name };
  const expired = pool.find((l) => l.renewTime === undefined || l.renewTime + l.durationSeconds * 1000 < now);
  if (expired) return { action: 'take', name: expired.name };
  const orphan = pool.find((l) => !nodeExists(l.holder));
  if (orphan) return { action: 'take', name: orphan.name };
  return { action: 'wait' };
}
