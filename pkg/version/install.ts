// Where Krill's own files are at run time (the package root: package.json,
// bin/, dist/), whether running from dist/ or from the sources under jest.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** A helper binary built by `make build` into dist/bin. */
export function helperBinary(name: string): string {
  return join(PACKAGE_ROOT, 'dist', 'bin', name);
}
