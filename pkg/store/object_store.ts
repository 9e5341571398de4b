// Pods and containers in the state store, mirrored in memory so that reads
// (List, Status, kubelet's polling) never touch SQLite: one shape for both.
// An object is immutable in memory: setStatus persists the new status first
// and then replaces the object, so a reader holding the old one sees a
// consistent snapshot and memory never runs ahead of the disk.
// Lookups answer the way every RPC must: an ID or a unique prefix (crictl
// sends prefixes), NotFound naming the field, InvalidArgument for an
// ambiguous prefix, and objects still being created are not there yet.
import { invalidArgument, notFound } from '../errors/errors';
import { AmbiguousIdError, matchIdPrefix } from '../util/id';
import type { Store } from './db';
import { RecordTable, type StoredRecord } from './records';

export type StoredObject<M, S> = StoredRecord<M, S>;

export interface ObjectStoreOptions<M, S> {
  /** The table; it is created by this store's first migration. */
  table: string;
  /** What the objects are called in messages ("container", "pod sandbox"). */
  noun: string;
  /** A unique name per object (kubelet's name of a pod or container), or none. */
  keyOf?: (meta: M) => string;
  /** Objects that exist but are not visible to lookups and lists yet (being created). */
  hidden?: (status: S) => boolean;
}

export class ObjectStore<M, S> {
  private readonly table: RecordTable<M, S>;
  private readonly byId = new Map<string, StoredObject<M, S>>();
  private readonly byKey = new Map<string, string>();

  constructor(
    store: Store,
    private readonly opts: ObjectStoreOptions<M, S>,
  ) {
    this.table = new RecordTable<M, S>(store, opts.table);
    for (const r of this.table.list()) this.index(r);
  }

  private index(o: StoredObject<M, S>): void {
    this.byId.set(o.id, o);
    if (this.opts.keyOf) this.byKey.set(this.opts.keyOf(o.meta), o.id);
  }

  private visible(o: StoredObject<M, S>): boolean {
    return !this.opts.hidden?.(o.status);
  }

  insert(o: StoredObject<M, S>): void {
    this.table.insert(o.id, o.meta, o.status);
    this.index({ ...o });
  }

  /** Replaces the status; returns the object as it is now. */
  setStatus(id: string, status: S): StoredObject<M, S> {
    const o = this.byId.get(id);
    if (!o) throw new Error(`${this.opts.noun} ${id} is not in the store`);
    this.table.setStatus(id, status);
    const next = { ...o, status };
    this.byId.set(id, next);
    return next;
  }

  /** Replaces the provisional record of an object that now exists in full, in one transaction. */
  replace(o: StoredObject<M, S>): StoredObject<M, S> {
    this.table.transaction(() => {
      this.table.delete(o.id);
      this.table.insert(o.id, o.meta, o.status);
    });
    this.drop(o.id);
    this.index({ ...o });
    return this.byId.get(o.id)!;
  }

  delete(id: string): void {
    this.table.delete(id);
    this.drop(id);
  }

  private drop(id: string): void {
    const o = this.byId.get(id);
    if (!o) return;
    this.byId.delete(id);
    if (this.opts.keyOf && this.byKey.get(this.opts.keyOf(o.meta)) === id) this.byKey.delete(this.opts.keyOf(o.meta));
  }

  /** The object with exactly this ID, hidden ones included (for its own manager). */
  get(id: string): StoredObject<M, S> | undefined {
    return this.byId.get(id);
  }

  /** Every object, hidden ones included (recovery). */
  all(): StoredObject<M, S>[] {
    return [...this.byId.values()];
  }

  /** The objects lookups can see. */
  list(): StoredObject<M, S>[] {
    return this.all().filter((o) => this.visible(o));
  }

  /** The ID of the object with this unique name, hidden ones included. */
  idForKey(key: string): string | undefined {
    return this.byKey.get(key);
  }

  /** The visible object for an ID or unique prefix; undefined when none matches, InvalidArgument when several do. */
  resolve(idOrPrefix: string): StoredObject<M, S> | undefined {
    if (idOrPrefix === '') return undefined;
    const exact = this.byId.get(idOrPrefix);
    if (exact) return this.visible(exact) ? exact : undefined;
    let id: string | undefined;
    try {
      id = matchIdPrefix(this.list().map((o) => o.id), idOrPrefix);
    } catch (err) {
      if (err instanceof AmbiguousIdError) throw invalidArgument(`${err.message} (${this.opts.noun}s)`);
      throw err;
    }
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** resolve, or NotFound naming the request field that carried the ID. */
  find(idOrPrefix: string, field: string): StoredObject<M, S> {
    const o = this.resolve(idOrPrefix);
    if (!o) throw notFound(`${this.opts.noun} ${JSON.stringify(idOrPrefix)} not found (${field})`);
    return o;
  }
}
