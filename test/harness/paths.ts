import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');

/** Every directory a test run creates lives under this run's base. */
export const TEST_BASE_ROOT = '/tmp/krill-it';

/** The base directory of this jest run (set by global setup), created on demand. */
export function testBaseDir(): string {
  process.env.KRILL_IT_RUN ??= `run-${process.pid}`;
  const dir = join(TEST_BASE_ROOT, process.env.KRILL_IT_RUN);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A cgroup parent (cgroupfs style) that the leak check attributes to this run. */
export function testCgroupParent(name: string): string {
  testBaseDir();
  return `/krill-it-${process.env.KRILL_IT_RUN!.replace(/^run-/, '')}/${name}`;
}
