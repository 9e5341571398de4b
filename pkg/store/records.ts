// A table of objects that are written once (metadata) and then only change
// state (status), as containerd keeps its CRI objects: the metadata row is
// immutable, the status is rewritten atomically as a whole.
import type { Store } from './db';

export interface StoredRecord<M, S> {
  id: string;
  meta: M;
  status: S;
}

export class RecordTable<M, S> {
  private readonly insertStmt;
  private readonly statusStmt;
  private readonly getStmt;
  private readonly listStmt;
  private readonly deleteStmt;

  /** `table` must have been created with `RecordTable.createSql(table)`. */
  constructor(private readonly store: Store, table: string) {
    const db = store.db;
    this.insertStmt = db.prepare(`INSERT INTO ${table} (id, meta, status) VALUES (?, ?, ?)`);
    this.statusStmt = db.prepare(`UPDATE ${table} SET status = ? WHERE id = ?`);
    this.getStmt = db.prepare(`SELECT id, meta, status FROM ${table} WHERE id = ?`);
    this.listStmt = db.prepare(`SELECT id, meta, status FROM ${table} ORDER BY rowid`);
    this.deleteStmt = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
  }

  static createSql(table: string): string {
    return `CREATE TABLE ${table} (id TEXT PRIMARY KEY, meta TEXT NOT NULL, status TEXT NOT NULL);`;
  }

  insert(id: string, meta: M, status: S): void {
    this.insertStmt.run(id, JSON.stringify(meta, bigintReplacer), JSON.stringify(status, bigintReplacer));
  }

  setStatus(id: string, status: S): void {
    this.statusStmt.run(JSON.stringify(status, bigintReplacer), id);
  }

  get(id: string): StoredRecord<M, S> | undefined {
    const row = this.getStmt.get(id) as { id: string; meta: string; status: string } | undefined;
    return row ? decode<M, S>(row) : undefined;
  }

  list(): StoredRecord<M, S>[] {
    return (this.listStmt.all() as { id: string; meta: string; status: string }[]).map((r) => decode<M, S>(r));
  }

  delete(id: string): void {
    this.deleteStmt.run(id);
  }

  transaction<T>(fn: () => T): T {
    return this.store.transaction(fn);
  }
}

/** bigint survives a JSON round trip as {"$bigint":"123"}. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? { $bigint: value.toString() } : value;
}

export function bigintReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && '$bigint' in value && Object.keys(value).length === 1) {
    return BigInt((value as { $bigint: string }).$bigint);
  }
  return value;
}

function decode<M, S>(row: { id: string; meta: string; status: string }): StoredRecord<M, S> {
  return { id: row.id, meta: JSON.parse(row.meta, bigintReviver) as M, status: JSON.parse(row.status, bigintReviver) as S };
}
