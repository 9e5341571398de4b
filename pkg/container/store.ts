// Containers in the state store; an in-memory index keeps reads (List, Status,
// kubelet's polling) off SQLite.
import type { Store } from '../store/db';
import { RecordTable } from '../store/records';
import type { Container, ContainerMeta, ContainerStatusRecord } from './types';

export class ContainerStore {
  private readonly table: RecordTable<ContainerMeta, ContainerStatusRecord>;
  private readonly byId = new Map<string, Container>();
  private readonly byKey = new Map<string, string>();

  constructor(store: Store) {
    store.migrate('containers', [{ version: 1, sql: RecordTable.createSql('containers') }]);
    this.table = new RecordTable(store, 'containers');
    for (const r of this.table.list()) this.index({ id: r.id, meta: r.meta, status: r.status });
  }

  private index(c: Container): void {
    this.byId.set(c.id, c);
    this.byKey.set(c.meta.key, c.id);
  }

  insert(c: Container): void {
    this.table.insert(c.id, c.meta, c.status);
    this.index(c);
  }

  /** Replaces the status (persisted first, so memory never runs ahead of disk). */
  setStatus(id: string, status: ContainerStatusRecord): Container {
    const c = this.byId.get(id);
    if (!c) throw new Error(`container ${id} is not in the store`);
    this.table.setStatus(id, status);
    const next = { ...c, status };
    this.byId.set(id, next);
    return next;
  }

  get(id: string): Container | undefined {
    return this.byId.get(id);
  }

  idForKey(key: string): string | undefined {
    return this.byKey.get(key);
  }

  list(): Container[] {
    return [...this.byId.values()];
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  delete(id: string): void {
    const c = this.byId.get(id);
    this.table.delete(id);
    if (!c) return;
    this.byId.delete(id);
    if (this.byKey.get(c.meta.key) === id) this.byKey.delete(c.meta.key);
  }
}
