import { Prng, sampleSize } from './prng';

describe('Prng', () => {
  test('a seed always gives the same sequence (the bench images\' digests depend on it)', () => {
    const a = new Prng('krill');
    expect([a.u32(), a.u32(), a.u32()]).toEqual([316948554, 4135300115, 555662409]);
    const b = new Prng('krill');
    const c = new Prng('krill2');
    const xs = Array.from({ length: 100 }, () => b.u32());
    const ys = Array.from({ length: 100 }, () => c.u32());
    expect(xs).not.toEqual(ys);
  });

  test('floats are in [0, 1), ints in [lo, hi), skewed indexes in [0, n) and mostly small', () => {
    const r = new Prng('ranges');
    let small = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const n = r.int(3, 7);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThan(7);
      const s = r.skewed(100);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(100);
      if (s < 50) small++;
    }
    expect(small).toBeGreaterThan(7000); // cube of a uniform: P(< half) = 0.79
  });

  test('fill writes every byte of the range, the same for the same seed, lengths not a multiple of 4 too', () => {
    const a = Buffer.alloc(11, 0xee);
    new Prng('fill').fill(a, 1, 10);
    const b = Buffer.alloc(11, 0xee);
    new Prng('fill').fill(b, 1, 10);
    expect(a).toEqual(b);
    expect(a[0]).toBe(0xee);
    expect(a[10]).toBe(0xee);
    expect(a.subarray(1, 10).every((x) => x === 0xee)).toBe(false);
  });
});

describe('sampleSize', () => {
  test('log-normal around the median, clamped to [min, max]', () => {
    const r = new Prng('sizes');
    const d = { median: 2000, sigma: 1, min: 100, max: 50_000 };
    const xs = Array.from({ length: 20_000 }, () => sampleSize(r, d)).sort((x, y) => x - y);
    expect(xs[0]).toBe(100);
    expect(xs[xs.length - 1]).toBe(50_000);
    const median = xs[xs.length >> 1]!;
    expect(median).toBeGreaterThan(1900);
    expect(median).toBeLessThan(2100);
    // sigma 1: about 16 % of the samples above e × the median.
    const above = xs.filter((x) => x > 2000 * Math.E).length / xs.length;
    expect(above).toBeGreaterThan(0.14);
    expect(above).toBeLessThan(0.18);
  });

  test('sigma 0 gives the median', () => {
    expect(sampleSize(new Prng('x'), { median: 1234, sigma: 0, min: 0, max: 1e9 })).toBe(1234);
  });
});
