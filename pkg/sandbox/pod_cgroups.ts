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
/** Whether cgroup `path` is `dir` or below it. */
function isAtOrBelow(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

export class OwnedCgroups {
  private readonly paths = new Set<string>();

  constructor(private readonly store: Store) {
    for (const row of store.db.prepare('SELECT path FROM sandbox_cgroups').all() as { path: string }[]) this.paths.add(row.path);
  }

  owns(path: string): boolean {
    return this.paths.has(path);
  }

  /** Every owned path, deepest first. */
  all(): string[] {
    return [...this.paths].sort((a, b) => b.split('/').length - a.split('/').length || a.localeCompare(b));
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

/** When a released cgroup was still busy (its last processes exiting), it is tried again after these delays. */
const RETRY_DELAYS_MS = [500, 2_000, 8_000, 30_000];

export class PodCgroups {
  private readonly locks = new KeyedMutex();
  private retry?: NodeJS.Timeout;
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
        const used = others.some((o) => isAtOrBelow(o.meta.cgroupPath, p));
        if (used) break;
        if (!(await this.cgroups.removeIfEmpty(p))) {
          if (p === path) this.log.warn({ pod_id: s.id, cgroup: p }, 'the pod cgroup is still in use; it is removed once empty');
          this.sweepLater(pods);
          break;
        }
        this.owned.drop(p);
      }
    });
  }

  /**
   * Removes the owned cgroups that no pod uses any more and that are empty
   * now: those a release found busy, or that krilld died before removing.
   * Returns the paths removed.
   */
  async sweep(pods: () => readonly Sandbox[]): Promise<string[]> {
    const removed: string[] = [];
    for (const p of this.owned.all()) {
      await this.locks.run(this.lockKey(p), async () => {
        if (!this.owned.owns(p)) return;
        const used = pods().some((o) => !this.released.has(o.id) && isAtOrBelow(o.meta.cgroupPath, p));
        if (used || !(await this.cgroups.removeIfEmpty(p))) return;
        this.owned.drop(p);
        removed.push(p);
      });
    }
    return removed;
  }

  /** Sweeps again a few times, later, until nothing owned and unused is left. */
  private sweepLater(pods: () => readonly Sandbox[], attempt = 0): void {
    if (this.retry || attempt >= RETRY_DELAYS_MS.length) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.sweep(pods)
        .then((removed) => {
          if (removed.length > 0) this.log.info({ cgroups: removed }, 'removed pod cgroups once they were empty');
          const left = this.owned.all().some((p) => !pods().some((o) => isAtOrBelow(o.meta.cgroupPath, p)));
          if (left) this.sweepLater(pods, attempt + 1);
        })
        .catch((err: unknown) => this.log.warn({ err }, 'could not sweep pod cgroups'));
    }, RETRY_DELAYS_MS[attempt]).unref();
  }

  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }
}
