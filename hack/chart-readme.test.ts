import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, parseValues, updateReadme, valuesTable } from './chart-readme';

const read = (f: string): string => readFileSync(join(CHART_DIR, f), 'utf8');

test('the chart README carries the values table that values.yaml gives (run `node dist/hack/chart-readme.js` after changing values.yaml)', () => {
  const readme = read('README.md');
  expect(readme).toBe(updateReadme(readme, read('values.yaml')));
});

test('every top-level value and every leaf under it is documented, except the map-valued groups', () => {
  const { values, docs } = parseValues(read('values.yaml'));
  const documented = new Set(docs.map((d) => d.key));
  const missing: string[] = [];
  const walk = (v: unknown, path: string[]): void => {
    const key = path.join('.');
    if (documented.has(key)) return;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, sub] of Object.entries(v)) walk(sub, [...path, k]);
    } else if (path.length > 0) missing.push(key);
  };
  walk(values, []);
  expect(missing).toEqual([]);
});

test('the parser reads the subset: maps, lists of maps and scalars, flow JSON, numbers, booleans', () => {
  const { values, docs } = parseValues([
    'a:', '  # -- first', '  # continued', '  b: 1', '  c: "x: y"', 'list:', '  - name: n', '    handler: h', '  - name: m', '    handler: k',
    'flow: ["ALL"]', 'empty: {}', 'plain: 30s', 'flag: false', 'dotted:', '  "docker.io": ok',
  ].join('\n'));
  expect(values).toEqual({
    a: { b: 1, c: 'x: y' }, list: [{ name: 'n', handler: 'h' }, { name: 'm', handler: 'k' }],
    flow: ['ALL'], empty: {}, plain: '30s', flag: false, dotted: { 'docker.io': 'ok' },
  });
  expect(docs).toEqual([{ key: 'a.b', value: 1, description: 'first continued' }]);
  expect(valuesTable(docs)).toContain('| `a.b` | `1` | first continued |');
});

test('what the parser does not read is an error, not a wrong default', () => {
  expect(() => parseValues("a: 'single'")).toThrow(/values.yaml:1: unsupported YAML/);
  expect(() => parseValues('a: x # note')).toThrow(/comments after a value/);
  expect(() => parseValues('a: [x, y]')).toThrow(/not JSON/);
  expect(() => parseValues('a: |\n  text')).toThrow(/unsupported YAML/);
});
