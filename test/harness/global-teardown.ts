// Removes this run's base directory. Files a test left there are named on
// stderr (a test must clean up after itself) and removed, unless something is
// still mounted below it: the leak check reports that, and a recursive delete
// must never walk into a mount.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { mountsUnder } from '../../pkg/storage/mount';
import { TEST_BASE_ROOT } from './paths';

export default function globalTeardown(): void {
  const run = process.env.KRILL_IT_RUN;
  if (!run) return;
  const base = join(TEST_BASE_ROOT, run);
  let left: string[];
  try {
    left = readdirSync(base);
  } catch {
    return;
  }
  if (left.length > 0) process.stderr.write(`global teardown: tests left files in ${base}: ${left.join(', ')}\n`);
  if (mountsUnder(base).length > 0) return;
  rmSync(base, { recursive: true, force: true });
}
