// The pull benchmark's figures for one image: the runtimes' cold pulls
// against each other and against the floor (curl | tar, one layer after
// another and all at once), the goals as rows of their own, and the order the
// participants take turns in.
import { ratio, type Row } from './report';
import { summarize, type Summary } from './stats';

export type Participant = 'krill' | 'containerd' | 'floorSerial' | 'floorParallel';
export const PARTICIPANTS: readonly Participant[] = ['krill', 'containerd', 'floorSerial', 'floorParallel'];

export type PullSamples = Record<Participant, number[]>;

/** Krill's median at most this many times the reference's (issue 16). */
export interface PullGoals {
  containerd?: number;
  floorSerial?: number;
}

export interface PullFacts {
  compressedBytes: number;
  layers: number;
}

/** Round `i`'s order: the list rotated by `i`, so that no participant always goes first or after the same one. */
export function roundOrder<T>(xs: readonly T[], i: number): T[] {
  const k = ((i % xs.length) + xs.length) % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

export function emptySamples(): PullSamples {
  return { krill: [], containerd: [], floorSerial: [], floorParallel: [] };
}

export function summaries(s: PullSamples): Record<Participant, Summary> {
  return { krill: summarize(s.krill), containerd: summarize(s.containerd), floorSerial: summarize(s.floorSerial), floorParallel: summarize(s.floorParallel) };
}

function goalRow(metric: string, value: number | undefined, most: number): Row {
  const v = value ?? Number.NaN;
  return { metric, unit: '×', krill: v, goal: `at most ${most}×`, goalMet: v <= most };
}

/** One row per goal: the ratio of the medians and whether it is within the goal. */
export function goalRows(sum: Record<Participant, Summary>, goals: PullGoals): Row[] {
  const rows: Row[] = [];
  if (goals.containerd !== undefined) rows.push(goalRow('goal: Krill ÷ containerd (medians)', ratio(sum.krill.median, sum.containerd.median), goals.containerd));
  if (goals.floorSerial !== undefined) rows.push(goalRow('goal: Krill ÷ serial floor (medians)', ratio(sum.krill.median, sum.floorSerial.median), goals.floorSerial));
  return rows;
}

const MiB = 1024 * 1024;

/**
 * The image's table: medians (the floor column is the serial floor, then the
 * parallel one), the goals, fastest and slowest, throughput, and the disk each
 * runtime's root grew by with the image.
 */
export function pullRows(samples: PullSamples, goals: PullGoals, facts?: PullFacts, disk?: { krill: number; containerd: number }): Row[] {
  const s = summaries(samples);
  const rows: Row[] = [
    { metric: 'cold pull, median (floor: one layer after another)', unit: 's', krill: s.krill.median, containerd: s.containerd.median, floor: s.floorSerial.median },
    { metric: 'cold pull, median (floor: all layers at once)', unit: 's', krill: s.krill.median, floor: s.floorParallel.median },
    ...goalRows(s, goals),
    { metric: 'cold pull, fastest (floor: serial)', unit: 's', krill: s.krill.min, containerd: s.containerd.min, floor: s.floorSerial.min },
    { metric: 'cold pull, slowest (floor: serial)', unit: 's', krill: s.krill.max, containerd: s.containerd.max, floor: s.floorSerial.max },
  ];
  if (facts) {
    const mib = facts.compressedBytes / MiB;
    rows.push({ metric: 'throughput, compressed MiB ÷ median (floor: serial)', unit: 'MiB/s', krill: mib / s.krill.median, containerd: mib / s.containerd.median, floor: mib / s.floorSerial.median });
  }
  if (disk) rows.push({ metric: 'disk the runtime\'s root grew by with the image', unit: 'MiB', krill: disk.krill / MiB, containerd: disk.containerd / MiB });
  return rows;
}
