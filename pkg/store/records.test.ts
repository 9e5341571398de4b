import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './db';
import { RecordTable } from './records';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-store-'));
  store = new Store(join(dir, 'state', 'krill.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('migrations run once per domain, in order', () => {
  const steps = [
    { version: 2, sql: 'ALTER TABLE things ADD COLUMN b TEXT;' },
    { version: 1, sql: 'CREATE TABLE things (a TEXT);' },
  ];
  store.migrate('things', steps);
  store.migrate('things', steps);
  store.migrate('things', [...steps, { version: 3, sql: "INSERT INTO things VALUES ('x', 'y');" }]);
  expect(store.db.prepare('SELECT a, b FROM things').all()).toEqual([{ a: 'x', b: 'y' }]);
});

test('a failed migration leaves the version where it was', () => {
  store.migrate('d', [{ version: 1, sql: 'CREATE TABLE d1 (x TEXT);' }]);
  expect(() => store.migrate('d', [{ version: 2, sql: 'CREATE TABLE d2 (x TEXT); THIS IS NOT SQL;' }])).toThrow();
  expect(store.db.prepare("SELECT version FROM schema_versions WHERE domain = 'd'").get()).toEqual({ version: 1 });
  expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'd2'").get()).toBeUndefined();
});

test('records keep immutable meta and replace status; bigints survive', () => {
  store.migrate('pods', [{ version: 1, sql: RecordTable.createSql('pods') }]);
  const t = new RecordTable<{ name: string; created: bigint }, { state: string }>(store, 'pods');
  t.insert('p1', { name: 'a', created: 1700000000123456789n }, { state: 'ready' });
  t.insert('p2', { name: 'b', created: 1n }, { state: 'ready' });
  t.setStatus('p1', { state: 'notready' });
  expect(t.get('p1')).toEqual({ id: 'p1', meta: { name: 'a', created: 1700000000123456789n }, status: { state: 'notready' } });
  expect(t.list().map((r) => r.id)).toEqual(['p1', 'p2']);
  t.delete('p1');
  expect(t.get('p1')).toBeUndefined();
  expect(() => t.insert('p2', { name: 'c', created: 2n }, { state: 'x' })).toThrow();
});

test('a transaction that throws changes nothing', () => {
  store.migrate('pods', [{ version: 1, sql: RecordTable.createSql('pods') }]);
  const t = new RecordTable<{ n: number }, { s: string }>(store, 'pods');
  expect(() =>
    t.transaction(() => {
      t.insert('a', { n: 1 }, { s: '' });
      throw new Error('later step failed');
    }),
  ).toThrow('later step failed');
  expect(t.list()).toEqual([]);
});

test('data written is there after reopening', () => {
  store.migrate('pods', [{ version: 1, sql: RecordTable.createSql('pods') }]);
  new RecordTable<{ n: number }, { s: string }>(store, 'pods').insert('a', { n: 1 }, { s: 'x' });
  store.close();
  store = new Store(join(dir, 'state', 'krill.db'));
  expect(new RecordTable<{ n: number }, { s: string }>(store, 'pods').get('a')?.meta).toEqual({ n: 1 });
});
