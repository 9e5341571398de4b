// Benchmark results: rows of Krill vs the references with ratios and goals,
// printed as text tables and written as JSON and Markdown.
import type { Summary } from './stats';

export type Unit = 'ms' | 'MiB' | 'MiB/s' | '% of a core' | 'pods/s' | 'calls/s' | 's' | 'count' | '×';

export interface Row {
  metric: string;
  unit: Unit;
  krill: number;
  containerd?: number;
  floor?: number;
  /** The goal in words, shown next to the numbers (never a pass/fail). */
  goal?: string;
  goalMet?: boolean;
}

export type Column = 'krill' | 'containerd' | 'floor';

export interface Table {
  title: string;
  rows: Row[];
  /** Column names other than "Krill", "containerd", "floor" (a benchmark comparing something else). */
  labels?: Partial<Record<Column, string>>;
}

export interface BenchResult {
  name: string;
  title: string;
  /** The size parameters the run used. */
  params: Record<string, number | string | boolean>;
  tables: Table[];
  /** Raw summaries for the JSON (per step, per runtime...). */
  details: Record<string, unknown>;
  notes: string[];
  /** Set when the benchmark could not run to its end. */
  error?: string;
  seconds: number;
}

export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

export function fmt(v: number | undefined, unit?: Unit): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (unit === 'count') return String(Math.round(v));
  if (unit === '×') return fmtRatio(v);
  const abs = Math.abs(v);
  if (abs >= 1000) return v.toFixed(0);
  if (abs >= 100) return v.toFixed(1);
  if (abs >= 10) return v.toFixed(2);
  return v.toFixed(3);
}

export function fmtRatio(r: number | undefined): string {
  return r === undefined ? '–' : `${r.toFixed(2)}×`;
}

function goalText(r: Row): string {
  if (!r.goal) return '';
  if (r.goalMet === undefined) return r.goal;
  return `${r.goal}: ${r.goalMet ? 'met' : 'NOT met'}`;
}

const LABELS: Record<Column, string> = { krill: 'Krill', containerd: 'containerd', floor: 'floor' };

function header(t: Table): string[] {
  const l = { ...LABELS, ...t.labels };
  return ['metric', 'unit', l.krill, l.containerd, l.floor, `${l.krill}/${l.containerd}`, `${l.krill}/${l.floor}`, 'goal'];
}

function cells(r: Row): string[] {
  return [
    r.metric,
    r.unit,
    fmt(r.krill, r.unit),
    fmt(r.containerd, r.unit),
    fmt(r.floor, r.unit),
    fmtRatio(ratio(r.krill, r.containerd)),
    fmtRatio(ratio(r.krill, r.floor)),
    goalText(r),
  ];
}

/** Drops the floor columns when no row has a floor value. */
function columns(rows: Row[]): number[] {
  const hasFloor = rows.some((r) => r.floor !== undefined);
  const hasGoal = rows.some((r) => r.goal);
  return [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => (hasFloor || (i !== 4 && i !== 6)) && (hasGoal || i !== 7));
}

export function textTable(t: Table): string {
  const cols = columns(t.rows);
  const grid = [header(t), ...t.rows.map(cells)].map((row) => cols.map((i) => row[i]!));
  const widths = cols.map((_c, j) => Math.max(...grid.map((row) => row[j]!.length)));
  const line = (row: string[]): string => row.map((c, j) => (j === 0 || j === row.length - 1 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ').trimEnd();
  return [t.title, line(grid[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...grid.slice(1).map(line)].join('\n');
}

export function markdownTable(t: Table): string {
  const cols = columns(t.rows);
  const row = (r: string[]): string => `| ${cols.map((i) => r[i]!.replace(/\|/g, '\\|')).join(' | ')} |`;
  const align = cols.map((i) => (i === 0 || i === 7 ? '---' : '---:'));
  return [`**${t.title}**`, '', row(header(t)), `| ${align.join(' | ')} |`, ...t.rows.map((r) => row(cells(r)))].join('\n');
}

/** Rows for a latency summary: median and p99. */
export function latencyRows(metric: string, k: Summary, c?: Summary, f?: Summary, goal?: { text: string; met: (k: Summary, c?: Summary, f?: Summary) => boolean }): Row[] {
  return [
    {
      metric: `${metric}, median`,
      unit: 'ms',
      krill: k.median,
      ...(c ? { containerd: c.median } : {}),
      ...(f ? { floor: f.median } : {}),
      ...(goal ? { goal: goal.text, goalMet: goal.met(k, c, f) } : {}),
    },
    { metric: `${metric}, p99`, unit: 'ms', krill: k.p99, ...(c ? { containerd: c.p99 } : {}), ...(f ? { floor: f.p99 } : {}) },
  ];
}
