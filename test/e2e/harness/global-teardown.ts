// Brings down the test bed the global setup started (not one it found up),
// unless KRILL_E2E_KEEP_CLUSTER=1.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../harness/paths';

export default function globalTeardown(): void {
  if (process.env.KRILL_E2E_STARTED_CLUSTER !== '1' || process.env.KRILL_E2E_KEEP_CLUSTER === '1') return;
  const t0 = Date.now();
  const r = spawnSync(join(REPO_ROOT, 'hack/testbed'), ['down'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  if (r.status !== 0) process.stderr.write(r.stderr);
  process.stderr.write(`e2e: test bed down in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
