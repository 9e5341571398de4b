// The state store: one SQLite database (node:sqlite) in the root directory.
// WAL with synchronous=NORMAL survives a crash of krilld (kill -9) without
// losing a committed write; every area migrates its own tables.
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Row = Record<string, SQLInputValue>;

export interface Migration {
  /** Increasing from 1 within its domain; never renumber a shipped one. */
  version: number;
  sql: string;
}

/** The database cannot be opened or fails its check: krilld refuses to start over it. */
export class DamagedStoreError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(
      `the state database ${path} is damaged (${reason}). krilld does not start over it, since starting empty would forget every pod and container. ` +
        `Restore it from a backup, or move it aside (mv ${path} ${path}.damaged) to start with an empty state: the pods and containers still on the node are then removed as leftovers.`,
    );
    this.name = 'DamagedStoreError';
  }
}

export class Store {
  readonly db!: DatabaseSync;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      this.db = new DatabaseSync(path);
      this.db.exec(`
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        PRAGMA foreign_keys = ON;
        PRAGMA busy_timeout = 5000;
      `);
      // A damaged database must stop the start: starting empty over it would lose every pod and container.
      const check = this.db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
      const problems = check.map((r) => r.quick_check).filter((r) => r !== 'ok');
      if (problems.length > 0) throw new Error(problems.slice(0, 3).join('; '));
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_versions (domain TEXT PRIMARY KEY, version INTEGER NOT NULL);');
    } catch (err) {
      throw new DamagedStoreError(path, err instanceof Error ? err.message : String(err));
    }
    // It holds every container's config, Secrets in environment variables included. SQLite gives the
    // -wal and -shm files the database's own mode; an older krilld's database may be more open.
    for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  }

  /** Applies the migrations of `domain` that this database has not seen, each in its own transaction. */
  migrate(domain: string, migrations: readonly Migration[]): void {
    const row = this.db.prepare('SELECT version FROM schema_versions WHERE domain = ?').get(domain) as { version: number } | undefined;
    let current = row?.version ?? 0;
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      this.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_versions (domain, version) VALUES (?, ?) ON CONFLICT(domain) DO UPDATE SET version = excluded.version').run(domain, m.version);
      });
      current = m.version;
    }
  }

  /** Runs `fn` in one transaction; it is rolled back if `fn` throws. `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
