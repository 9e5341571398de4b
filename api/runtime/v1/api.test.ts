// The checked-in api.ts must be exactly what hack/gen-api.sh makes of api.proto.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../../..');

test('generated TypeScript matches api.proto', () => {
  const out = mkdtempSync(join(tmpdir(), 'krill-gen-'));
  try {
    execFileSync(join(repo, 'hack/gen-api.sh'), [out], { stdio: 'pipe' });
    const fresh = readFileSync(join(out, 'runtime/v1/api.ts'), 'utf8');
    const checkedIn = readFileSync(join(repo, 'api/runtime/v1/api.ts'), 'utf8');
    if (fresh !== checkedIn) {
      throw new Error('api/runtime/v1/api.ts is out of date with api.proto: run `npm run gen` and commit the result');
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the proto keeps the upstream package and services', () => {
  const proto = readFileSync(join(repo, 'api/runtime/v1/api.proto'), 'utf8');
  expect(proto).toMatch(/^package runtime\.v1;$/m);
  expect(proto).toMatch(/^service RuntimeService \{$/m);
  expect(proto).toMatch(/^service ImageService \{$/m);
});
