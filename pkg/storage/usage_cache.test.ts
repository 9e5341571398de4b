import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageCache, walkUsage } from './usage_cache';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'usage-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fill(root: string, files: number): void {
  mkdirSync(join(root, 'sub'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(root, 'sub', `f${i}`), 'x'.repeat(5000));
}

test('walkUsage counts inodes below the root (hard links once) and their allocated bytes', async () => {
  fill(dir, 3);
  linkSync(join(dir, 'sub', 'f0'), join(dir, 'hard'));
  const u = await walkUsage(dir);
  expect(u.inodes).toBe(4n); // sub/ and three files; the hard link is f0
  expect(u.bytes).toBeGreaterThanOrEqual(3n * 5000n);
  expect(await walkUsage(join(dir, 'missing'))).toEqual({ bytes: 0n, inodes: 0n });
});

describe('UsageCache', () => {
  let now = 1_000_000;
  let walks = 0;
  const cache = (maxAgeMs = 10_000, firstWaitMs = 5_000) =>
    new UsageCache({
      dirOf: (id) => {
        walks++;
        return join(dir, id);
      },
      maxAgeMs,
      firstWaitMs,
      now: () => now,
    });

  beforeEach(() => {
    walks = 0;
  });

  test('the first request waits for a measurement; later ones get the cached one without walking', async () => {
    fill(join(dir, 'a'), 2);
    const c = cache();
    const first = await c.get('a');
    expect(first).toMatchObject({ inodes: 3n, at: now });
    fill(join(dir, 'a'), 10);
    expect(await c.get('a')).toBe(first);
    expect(walks).toBe(1);
  });

  test('a stale measurement is served while a new one is taken in the background', async () => {
    fill(join(dir, 'a'), 2);
    const c = cache(10_000);
    const first = await c.get('a');
    fill(join(dir, 'a'), 10);
    now += 10_000;
    expect(await c.get('a')).toBe(first); // served at once, stale
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 100 && (await c.get('a')) === first; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await c.get('a'))!.inodes).toBe(11n);
    expect(walks).toBe(2);
  });

  test('a long walk is repeated less often (nine times its duration must pass)', async () => {
    fill(join(dir, 'a'), 1);
    let t = 0;
    const c = new UsageCache({ dirOf: (id) => join(dir, id), maxAgeMs: 1000, firstWaitMs: 5000, now: () => (t += 2000) });
    const u = (await c.get('a'))!;
    expect(u.tookMs).toBe(2000);
    t = u.at + 10_000; // older than maxAge, younger than 9 x 2 s
    expect(await c.get('a')).toBe(u);
  });

  test('walks run one at a time', async () => {
    for (const id of ['a', 'b', 'c']) fill(join(dir, id), 200);
    let clock = 0;
    const c = new UsageCache({ dirOf: (id) => join(dir, id), maxAgeMs: 10_000, firstWaitMs: 60_000, now: () => ++clock });
    const all = (await Promise.all(['a', 'b', 'c'].map((id) => c.get(id)))).map((u) => u!);
    expect(all.map((u) => u.inodes)).toEqual([201n, 201n, 201n]);
    const spans = all.map((u) => [u.at - u.tookMs, u.at] as const).sort((x, y) => x[0] - y[0]);
    for (let k = 1; k < spans.length; k++) expect(spans[k]![0]).toBeGreaterThan(spans[k - 1]![1]);
  });

  test('with nothing cached and a walk slower than firstWaitMs, the request gets undefined at the deadline', async () => {
    fill(join(dir, 'a'), 2000);
    const c = cache(10_000, 1);
    expect(await c.get('a')).toBeUndefined();
  });

  test('forget drops the measurement; the next request measures again', async () => {
    fill(join(dir, 'a'), 1);
    const c = cache();
    await c.get('a');
    c.forget('a');
    await c.get('a');
    expect(walks).toBe(2);
  });
});
