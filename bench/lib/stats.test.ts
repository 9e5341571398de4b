import { median, percentile, summarize } from './stats';

describe('benchmark statistics', () => {
  test('nearest-rank percentiles are observed values', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([3, 1, 2], 99)).toBe(3);
  });

  test('the median averages the middle pair of an even count, unsorted input', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([9, 1, 5])).toBe(5);
  });

  test('summaries of nothing are NaN, not zero', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(Number.isNaN(s.median)).toBe(true);
    expect(summarize([2, 4]).mean).toBe(3);
  });
});
