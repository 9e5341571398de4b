import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DamagedStoreError, Store } from './db';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-db-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function filled(path: string): void {
  const s = new Store(path);
  s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const ins = s.db.prepare('INSERT INTO t (v) VALUES (?)');
  s.transaction(() => {
    for (let i = 0; i < 5000; i++) ins.run('x'.repeat(100));
  });
  s.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  s.close();
}

test('a database that is not one refuses the start, naming the file and what to do', () => {
  const path = join(dir, 'krill.db');
  writeFileSync(path, 'this is not a database, it is a note somebody left here'.repeat(100));
  expect(() => new Store(path)).toThrow(DamagedStoreError);
  expect(() => new Store(path)).toThrow(new RegExp(`${path} is damaged .*Restore it from a backup, or move it aside`));
  // Nothing was written over it.
  expect(readFileSync(path, 'utf8')).toMatch(/^this is not a database/);
});

test('a truncated database refuses the start', () => {
  const path = join(dir, 'krill.db');
  filled(path);
  truncateSync(path, Math.floor(statSync(path).size / 2));
  expect(() => new Store(path)).toThrow(DamagedStoreError);
});

test('a good database opens, and an older, more open one is made 0600', () => {
  const path = join(dir, 'krill.db');
  filled(path);
  chmodSync(path, 0o644);
  const s = new Store(path);
  expect(s.db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 5000 });
  expect(statSync(path).mode & 0o777).toBe(0o600);
  s.close();
});
