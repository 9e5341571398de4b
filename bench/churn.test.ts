import { churnRows } from './churn';

test('churn rows: goals on krilld before, during and idle after each round', () => {
  const rows = churnRows(
    { beforeMiB: 70, rounds: [{ peakMiB: 99, endMiB: 90, idleMiB: 79 }, { peakMiB: 101, endMiB: 95, idleMiB: 81 }] },
    { beforeMiB: 50, rounds: [{ peakMiB: 60, endMiB: 58, idleMiB: 55 }, { peakMiB: 61, endMiB: 59, idleMiB: 56 }] },
  );
  expect(rows.map((r) => [r.metric, r.krill, r.containerd, r.goalMet])).toEqual([
    ['daemon RSS before', 70, 50, true],
    ['round 1: highest during', 99, 60, true],
    ['round 1: right after', 90, 58, undefined],
    ['round 1: after 20 s idle', 79, 55, true],
    ['round 2: highest during', 101, 61, false],
    ['round 2: right after', 95, 59, undefined],
    ['round 2: after 20 s idle', 81, 56, false],
  ]);
});
