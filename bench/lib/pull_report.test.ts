import { textTable } from './report';
import { PARTICIPANTS, emptySamples, goalRows, pullRows, roundOrder, summaries, type PullSamples } from './pull_report';

const samples: PullSamples = { krill: [3, 2, 4], containerd: [5, 6, 4], floorSerial: [2, 2.5, 1.5], floorParallel: [1, 1, 1] };

describe('pull benchmark figures', () => {
  test('every participant goes first once in as many rounds as there are participants', () => {
    const firsts = PARTICIPANTS.map((_p, i) => roundOrder(PARTICIPANTS, i)[0]);
    expect(new Set(firsts).size).toBe(PARTICIPANTS.length);
    expect(roundOrder(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(roundOrder(['a', 'b', 'c'], 5)).toEqual(['c', 'a', 'b']);
    expect(roundOrder(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
  });

  test('goal rows are the ratios of the medians against the goal', () => {
    const rows = goalRows(summaries(samples), { containerd: 0.7, floorSerial: 1.3 });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ unit: '×', krill: 3 / 5, goal: 'at most 0.7×', goalMet: true });
    expect(rows[1]).toMatchObject({ unit: '×', krill: 3 / 2, goal: 'at most 1.3×', goalMet: false });
    expect(goalRows(summaries(samples), {})).toEqual([]);
  });

  test('a goal with no samples to judge is not met', () => {
    const rows = goalRows(summaries(emptySamples()), { containerd: 1 });
    expect(rows[0]!.goalMet).toBe(false);
  });

  test('the table: serial floor in the floor column, the parallel floor on its own row, throughput and disk', () => {
    const rows = pullRows(samples, { containerd: 1 }, { compressedBytes: 30 * 1024 * 1024, layers: 3 }, { krill: 100 * 1024 * 1024, containerd: 250 * 1024 * 1024 });
    expect(rows[0]).toMatchObject({ krill: 3, containerd: 5, floor: 2 });
    expect(rows[1]).toMatchObject({ krill: 3, floor: 1 });
    expect(rows[1]!.containerd).toBeUndefined();
    expect(rows[2]).toMatchObject({ goal: 'at most 1×', goalMet: true });
    expect(rows.find((r) => r.unit === 'MiB/s')).toMatchObject({ krill: 10, containerd: 6, floor: 15 });
    expect(rows.find((r) => r.unit === 'MiB')).toMatchObject({ krill: 100, containerd: 250 });
    const text = textTable({ title: 't', rows });
    expect(text).toContain('0.60×'); // Krill / containerd
    expect(text).toContain('1.50×'); // Krill / serial floor
    expect(text).toContain('3.00×'); // Krill / parallel floor
    expect(text).toContain('at most 1×: met');
  });

  test('without facts or disk figures those rows are left out', () => {
    const rows = pullRows(samples, {});
    expect(rows.map((r) => r.unit)).toEqual(['s', 's', 's', 's']);
  });
});
