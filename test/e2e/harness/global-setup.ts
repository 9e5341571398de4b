// Once per e2e run: the build and the test images exist, and the test bed
// (hack/testbed) runs this tree's krilld behind a real kubelet. A test bed
// that was already up with the same settings is reused (and left up); one
// started here is brought down by the global teardown unless
// KRILL_E2E_KEEP_CLUSTER=1.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../harness/paths';
import { E2E_TESTBED_ENV, KUBELET_DROPIN_DIR } from './settings';

export default function globalSetup(): void {
  if (process.getuid?.() !== 0) throw new Error('the e2e tests need root (run them with make test-e2e)');
  if (!existsSync(join(REPO_ROOT, 'dist/cmd/krilld/main.js'))) throw new Error('dist/ is missing: build first (make build)');
  Object.assign(process.env, E2E_TESTBED_ENV);
  const t0 = Date.now();
  const up = spawnSync(join(REPO_ROOT, 'hack/testbed'), ['up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 3_600_000 });
  process.stderr.write(up.stderr);
  if (up.status !== 0) throw new Error(`hack/testbed up failed (${up.status ?? up.signal}); see its output above`);
  const reused = /the test bed is already up/.test(up.stderr);
  process.env.KRILL_E2E_STARTED_CLUSTER = reused ? '' : '1';
  for (const line of up.stdout.split('\n')) {
    const m = /^(KUBECONFIG|PATH\+|CONTAINER_RUNTIME_ENDPOINT)=(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'PATH+') process.env.KRILL_TESTBED_BIN = m[2];
    else process.env[m[1]] = m[2];
  }
  // Drop-ins a test left behind (an interrupted run) go, with a kubelet restart.
  if (existsSync(KUBELET_DROPIN_DIR) && readdirSync(KUBELET_DROPIN_DIR).length > 0) {
    for (const f of readdirSync(KUBELET_DROPIN_DIR)) rmSync(join(KUBELET_DROPIN_DIR, f), { force: true });
    execFileSync(join(REPO_ROOT, 'hack/testbed'), ['restart', 'kubelet'], { stdio: 'inherit' });
  }
  // Namespaces an interrupted run left.
  const kubectl = join(process.env.KRILL_TESTBED_BIN ?? '/var/cache/krill-testbed/bin', 'kubectl');
  const left = execFileSync(kubectl, ['get', 'ns', '-o', 'name'], { encoding: 'utf8' })
    .split('\n').filter((n) => n.startsWith('namespace/e2e-'));
  if (left.length > 0) execFileSync(kubectl, ['delete', '--wait=false', ...left], { stdio: 'inherit' });
  process.stderr.write(`e2e: test bed ${reused ? 'reused' : 'up'} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
