import { fmt, markdownTable, ratio, textTable, type Table } from './report';

const table: Table = {
  title: 'lifecycle',
  rows: [
    { metric: 'serial, median', unit: 'ms', krill: 150, containerd: 300, floor: 100, goal: '≤ containerd', goalMet: true },
    { metric: 'serial, p99', unit: 'ms', krill: 200, containerd: 400, floor: 120 },
  ],
};

describe('benchmark report', () => {
  test('ratios are Krill over the reference; a missing or zero reference gives none', () => {
    expect(ratio(150, 300)).toBe(0.5);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(1, undefined)).toBeUndefined();
    expect(ratio(NaN, 2)).toBeUndefined();
  });

  test('numbers keep about four significant digits', () => {
    expect(fmt(1234.56)).toBe('1235');
    expect(fmt(123.456)).toBe('123.5');
    expect(fmt(12.3456)).toBe('12.35');
    expect(fmt(1.23456)).toBe('1.235');
    expect(fmt(undefined)).toBe('–');
    expect(fmt(3.7, 'count')).toBe('4');
    expect(fmt(0.654, '×')).toBe('0.65×');
  });

  test('text and Markdown tables carry values, ratios and goal status', () => {
    const text = textTable(table);
    expect(text).toContain('0.50×');
    expect(text).toContain('1.50×');
    expect(text).toContain('≤ containerd: met');
    const md = markdownTable(table).split('\n');
    expect(md[2]).toBe('| metric | unit | Krill | containerd | floor | Krill/containerd | Krill/floor | goal |');
    expect(md[4]).toContain('| 0.50× | 1.50× | ≤ containerd: met |');
  });

  test('floor and goal columns are left out when no row has them', () => {
    const md = markdownTable({ title: 't', rows: [{ metric: 'm', unit: 'ms', krill: 1, containerd: 2 }] });
    expect(md).not.toContain('floor');
    expect(md).not.toContain('goal');
  });

  test('a table may name its columns', () => {
    const md = markdownTable({ title: 't', labels: { krill: 'shim', containerd: 'bindAsync' }, rows: [{ metric: 'm', unit: 'ms', krill: 3, containerd: 2 }] }).split('\n');
    expect(md[2]).toBe('| metric | unit | shim | bindAsync | shim/bindAsync |');
    expect(md[4]).toContain('| 1.50× |');
  });
});
