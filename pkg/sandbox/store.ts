// Pods in the state store, mirrored in memory (List and Status never touch
// the database), plus the cgroups Krill created for pods: only those are
// Krill's to remove.
import type { Store } from '../store/db';
import { RecordTable } from '../store/records';
import type { Sandbox, SandboxMeta, SandboxStatus } from './types';

export class SandboxStore {
  private readonly table: RecordTable<SandboxMeta, SandboxStatus>;
  private readonly byId = new Map<string, Sandbox>();
  private readonly cgroups = new Set<string>();

  constructor(private readonly store: Store) {
    store.migrate('sandboxes', [
      { version: 1, sql: `${RecordTable.createSql('sandboxes')} CREATE TABLE sandbox_cgroups (path TEXT PRIMARY KEY);` },
    ]);
    this.table = new RecordTable<SandboxMeta, SandboxStatus>(store, 'sandboxes');
    for (const r of this.table.list()) this.byId.set(r.id, r);
    for (const row of store.db.prepare('SELECT path FROM sandbox_cgroups').all() as { path: string }[]) this.cgroups.add(row.path);
  }

  insert(s: Sandbox): void {
    this.table.insert(s.id, s.meta, s.status);
    this.byId.set(s.id, s);
  }

  setStatus(id: string, status: SandboxStatus): void {
    const s = this.byId.get(id);
    if (!s) return;
    this.table.setStatus(id, status);
    s.status = status;
  }

  delete(id: string): void {
    this.table.delete(id);
    this.byId.delete(id);
  }

  get(id: string): Sandbox | undefined {
    return this.byId.get(id);
  }

  all(): Sandbox[] {
    return [...this.byId.values()];
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  ownsCgroup(path: string): boolean {
    return this.cgroups.has(path);
  }

  addCgroups(paths: readonly string[]): void {
    this.store.transaction(() => {
      const stmt = this.store.db.prepare('INSERT OR IGNORE INTO sandbox_cgroups (path) VALUES (?)');
      for (const p of paths) stmt.run(p);
    });
    for (const p of paths) this.cgroups.add(p);
  }

  dropCgroup(path: string): void {
    this.store.db.prepare('DELETE FROM sandbox_cgroups WHERE path = ?').run(path);
    this.cgroups.delete(path);
  }
}
