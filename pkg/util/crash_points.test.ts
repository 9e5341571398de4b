import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { checkCrashPointSetting, CRASH_POINTS } from './crash_points';

const ROOT = resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('every crash point is reached by exactly one crashPoint() call, and every call names a known one', () => {
  const used = new Map<string, string[]>();
  for (const f of [...sources(join(ROOT, 'pkg')), ...sources(join(ROOT, 'cmd'))]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/crashPoint\('([^']+)'\)/g)) used.set(m[1]!, [...(used.get(m[1]!) ?? []), relative(ROOT, f)]);
  }
  expect([...used.keys()].filter((n) => !(CRASH_POINTS as readonly string[]).includes(n))).toEqual([]);
  expect(CRASH_POINTS.filter((n) => (used.get(n) ?? []).length !== 1)).toEqual([]);
});

test('a crash point outside a test run, or an unknown one, refuses the start', () => {
  expect(() => checkCrashPointSetting({})).not.toThrow();
  expect(() => checkCrashPointSetting({ KRILL_CRASH_AT: 'pod.create.network' })).toThrow(/for Krill's own tests only/);
  expect(() => checkCrashPointSetting({ KRILL_CRASH_AT: 'nowhere', KRILL_TEST_RUN: 'x' })).toThrow(/names no crash point/);
  expect(() => checkCrashPointSetting({ KRILL_CRASH_AT: 'pod.create.network', KRILL_TEST_RUN: 'x' })).not.toThrow();
});
