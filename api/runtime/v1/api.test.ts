// The checked-in generated TypeScript (api/runtime/v1/api.ts, api/krill/admin/v1/admin.ts)
// must be exactly what hack/gen-api.sh makes of the .proto files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../../..');

test('generated TypeScript matches the .proto files', () => {
  const out = mkdtempSync(join(tmpdir(), 'krill-gen-'));
  try {
    execFileSync(join(repo, 'hack/gen-api.sh'), [out], { stdio: 'pipe' });
    for (const file of ['runtime/v1/api.ts', 'krill/admin/v1/admin.ts']) {
      const fresh = readFileSync(join(out, file), 'utf8');
      const checkedIn = readFileSync(join(repo, 'api', file), 'utf8');
      if (fresh !== checkedIn) {
        throw new Error(`api/${file} is out of date with its .proto: run \`npm run gen\` and commit the result`);
      }
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

test('the admin proto keeps its package and service', () => {
  const proto = readFileSync(join(repo, 'api/krill/admin/v1/admin.proto'), 'utf8');
  expect(proto).toMatch(/^package krill\.admin\.v1;$/m);
  expect(proto).toMatch(/^service Admin \{$/m);
});
