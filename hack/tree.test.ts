// The rules of the tree that the compiler does not check: product code
// (api/, cmd/, pkg/ but tests and testing helpers) imports no test code, the
// build leaves test code out of dist/, and no product module keeps mutable
// state at module level (every such object is built by cmd/krilld/compose.ts
// and passed on).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const PRODUCT_DIRS = ['api', 'cmd', 'pkg'];

/** Test code: tests, and the fakes and clients under testing/ (or named testing.ts). */
function isTestCode(rel: string): boolean {
  return /\.test\.ts$/.test(rel) || /(^|\/)testing(\/|\.ts$)/.test(rel) || rel.startsWith('test/') || rel.startsWith('bench/');
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const productFiles = PRODUCT_DIRS.flatMap((d) => tsFiles(join(ROOT, d)))
  .map((p) => relative(ROOT, p))
  .filter((rel) => !isTestCode(rel));

/** Relative import specifiers of a file, resolved to repo-relative paths. */
function localImports(rel: string): string[] {
  const text = readFileSync(join(ROOT, rel), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
    out.push(relative(ROOT, resolve(ROOT, dirname(rel), m[1]!)));
  }
  return out;
}

test('product code imports no test code', () => {
  expect(productFiles.length).toBeGreaterThan(100);
  const bad = productFiles.flatMap((f) => localImports(f).filter((i) => isTestCode(`${i}.ts`) || isTestCode(`${i}/`)).map((i) => `${f} -> ${i}`));
  expect(bad).toEqual([]);
});

test('the product build leaves tests and testing helpers out of dist/', () => {
  const config = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { exclude: string[] };
  expect(config.exclude).toEqual(expect.arrayContaining(['**/*.test.ts', '**/testing/**', '**/testing.ts']));
  const dist = join(ROOT, 'dist');
  if (!existsSync(dist)) return; // `make build` before `make test` makes it; a bare unit run may not have
  const shipped: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else shipped.push(relative(dist, p));
    }
  };
  for (const d of PRODUCT_DIRS) if (existsSync(join(dist, d))) walk(join(dist, d));
  expect(shipped.filter((f) => /\.test\.js$|(^|\/)testing(\/|\.js$)/.test(f))).toEqual([]);
});

test('no product module keeps mutable state at module level', () => {
  // `let` at the top of a module, or a top-level const of a mutable collection or instance
  // (lookup tables typed ReadonlyMap/ReadonlySet are constants).
  const pattern = /^(?:export\s+)?(?:let\s+\w+|const\s+\w+(?:\s*:[^=]+)?\s*=\s*new\s+(?:Map|Set|WeakMap|Array|\w+(?:Cache|Pool|Store|Registry|Server|Manager|Agent)))\b/m;
  const allowed = new Map<string, string>([
    // The logger's record of which keys each child binds: keyed by logger object, never grows by itself.
    ['pkg/log/logger.ts', 'boundKeys'],
  ]);
  const offenders: string[] = [];
  for (const f of productFiles) {
    if (f.startsWith('cmd/krilld/')) continue;
    const text = readFileSync(join(ROOT, f), 'utf8');
    for (const line of text.split('\n')) {
      if (!pattern.test(line) || /^(?:export\s+)?const\s+\w+\s*:\s*Readonly/.test(line)) continue;
      const name = /(?:let|const)\s+(\w+)/.exec(line)?.[1] ?? '';
      if (allowed.get(f) === name) continue;
      offenders.push(`${f}: ${line.trim()}`);
    }
  }
  expect(offenders).toEqual([]);
});

test('@kubernetes/client-node (ESM-only) is loaded by pkg/agent/kube.ts alone, and krilld never reaches pkg/agent', () => {
  const importers = productFiles.filter((f) => /from\s+'@kubernetes\/client-node'|require\('@kubernetes\/client-node'\)|import\('@kubernetes\/client-node'\)/.test(readFileSync(join(ROOT, f), 'utf8')));
  expect(importers).toEqual(['pkg/agent/kube.ts']);
  const agentUsers = productFiles.filter((f) => !f.startsWith('pkg/agent/') && !f.startsWith('cmd/krill-agent/')).flatMap((f) => localImports(f).filter((i) => i.startsWith('pkg/agent')).map((i) => `${f} -> ${i}`));
  expect(agentUsers).toEqual([]);
});
