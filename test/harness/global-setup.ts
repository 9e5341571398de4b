// Once per jest run (integration project): the build must exist, the local
// registry runs and the test images are in it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT } from './paths';

export default function globalSetup(): void {
  if (process.getuid?.() !== 0) throw new Error('the integration tests need root (run them with make test)');
  if (!existsSync(join(REPO_ROOT, 'dist/cmd/krilld/main.js'))) {
    throw new Error('dist/ is missing: build first (make build), or run make test');
  }
  process.env.KRILL_IT_RUN = `run-${randomBytes(4).toString('hex')}`;
  const hack = (name: string, ...args: string[]): string =>
    execFileSync(join(REPO_ROOT, 'hack', name), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  if (existsSync(join(REPO_ROOT, 'hack/registry'))) {
    process.env.KRILL_TEST_REGISTRY = hack('registry', 'start').split('\n').pop()!;
  }
  if (existsSync(join(REPO_ROOT, 'hack/test-images'))) {
    hack('test-images');
    const manifest = '/var/lib/krill-test/images.json';
    if (existsSync(manifest)) process.env.KRILL_TEST_IMAGES = readFileSync(manifest, 'utf8');
  }
}
