// Removes this run's (now empty) base directory.
import { rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_BASE_ROOT } from './paths';

export default function globalTeardown(): void {
  const run = process.env.KRILL_IT_RUN;
  if (!run) return;
  try {
    rmdirSync(join(TEST_BASE_ROOT, run));
  } catch {
    // not empty: a test left files; the leak check has reported what matters
  }
}
