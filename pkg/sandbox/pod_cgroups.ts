// Pod cgroups that Krill creates (when kubelet's parent does not exist yet,
// or for pods without one) are Krill's to remove, and only those: the state
// store remembers which. Ancestors created for a pod are removed with the last
// pod below them.
import type { Cgroups } from '../cgroups/cgroups';
import { ancestorsAndSelf } from '../cgroups/paths';
import type { Logger } from '../log/logger';
import type { Store } from '../store/db';
import { KeyedMutex } from '../util/keyed_mutex';
import type { Sandbox } from './types';

/** The cgroups Krill created for pods (the table sandbox_cgroups, made with the sandboxes table). */
export class OwnedCgroups {
  private readonly paths = new Set<string>();

  constructor(private readonly store: Store) {
    for (const row of store.db.prepare('SELECT path FROM sandbox_cgroups').all() as { path: string }[]) this.paths.add(row.path);
  }

  owns(path: string): boolean {
    return this.paths.has(path);
  }

  add(paths: readonly string[]): void {
    this.store.transaction(() => {
      const stmt = this.store.db.prepare('INSERT OR IGNORE INTO sandbox_cgroups (path) VALUES (?)');
      for (const p of paths) stmt.run(p);
    });
    for (const p of paths) this.paths.add(p);
  }

  drop(path: string): void {
    this.store.db.prepare('DELETE FROM sandbox_cgroups WHERE path = ?').run(path);
    this.paths.delete(path);
  }
}

export class PodCgroups {
  private readonly locks = new KeyedMutex();
  /** Pods whose cgroups were released and whose records are on their way out. */
  private readonly released = new Set<string>();

  constructor(
    private readonly cgroups: Pick<Cgroups, 'ensure' | 'removeIfEmpty' | 'exists'>,
    private readonly owned: OwnedCgroups,
    private readonly log: Logger,
  ) {}

  /** Creation and removal in one subtree wait for each other (a mkdir must not lose to an rmdir of its parent). */
  private lockKey(path: string): string {
    return path.split('/').filter(Boolean)[0] ?? '/';
  }

  async ensure(path: string): Promise<void> {
    await this.locks.run(this.lockKey(path), async () => {
      const missing: string[] = [];
      for (const p of ancestorsAndSelf(path)) if (!(await this.cgroups.exists(p))) missing.push(p);
      // Recorded before they are made: krilld killed halfway through leaves them owned, so that
      // recovery removes them with the half-made pod instead of leaving them to nobody.
      if (missing.length > 0) this.owned.add(missing);
      const created = await this.cgroups.ensure(path);
      for (const p of missing) if (!created.includes(p)) this.owned.drop(p);
    });
  }

  /**
   * Removes the pod's cgroup and its ancestors, as far as Krill created them,
   * no other pod uses them, and they are empty. kubelet's own cgroups are
   * never touched. `pods` is read under the lock: pods removed at the same
   * time must see each other's release, or the last of them would keep the
   * ancestors for a pod that is already gone.
   */
  async release(s: Sandbox, pods: () => readonly Sandbox[]): Promise<void> {
    const path = s.meta.cgroupPath;
    await this.locks.run(this.lockKey(path), async () => {
      const live = pods();
      const ids = new Set(live.map((o) => o.id));
      for (const id of this.released) if (!ids.has(id)) this.released.delete(id);
      this.released.add(s.id);
      const others = live.filter((o) => !this.released.has(o.id));
      for (const p of ancestorsAndSelf(path).reverse()) {
        if (!this.owned.owns(p)) break;
        const used = others.some((o) => o.meta.cgroupPath === p || o.meta.cgroupPath.startsWith(`${p}/`));
        if (used) break;
        if (!(await this.cgroups.removeIfEmpty(p))) {
          if (p === path) this.log.warn({ pod_id: s.id, cgroup: p }, 'the pod cgroup is still in use; left in place');
          break;
        }
        this.owned.drop(p);
      }
    });
  }
}
