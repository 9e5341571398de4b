// The values table of deploy/charts/krill/README.md, generated from the `# --` comments of the
// chart's values.yaml (helm-docs' convention: a `# --` comment, continued by `#` lines, documents
// the key below it). `node dist/hack/chart-readme.js` rewrites the table between the README's
// markers; hack/chart-readme.test.ts fails when the checked-in README is not what this makes.
//
// values.yaml is read with a parser of the YAML subset the chart uses (block maps and lists,
// flow `[]`/`{}`/JSON arrays, plain and double-quoted scalars): anything else is an error, so the
// table never shows a default that differs from what Helm reads.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CHART_DIR = join(__dirname, __dirname.includes('/dist/') ? '../../deploy/charts/krill' : '../deploy/charts/krill');
export const BEGIN = '<!-- values:begin (hack/chart-readme.ts) -->';
export const END = '<!-- values:end -->';

export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

export interface ValueDoc {
  key: string;
  value: Yaml;
  description: string;
}

interface Line {
  no: number;
  indent: number;
  text: string;
}

class YamlSubsetError extends Error {
  constructor(line: Line | undefined, msg: string) {
    super(`values.yaml${line ? `:${line.no}` : ''}: ${msg}`);
  }
}

const KEY_RE = /^("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.\-/]+):(?: +(.*))?$/;

function scalar(raw: string, line: Line): Yaml {
  const s = raw.trim();
  if (s === '') return null;
  if (s.startsWith('[') || s.startsWith('{') || s.startsWith('"')) {
    try {
      return JSON.parse(s) as Yaml;
    } catch {
      throw new YamlSubsetError(line, `flow value ${s} is not JSON (the subset this parser reads)`);
    }
  }
  if (s.startsWith("'") || s.startsWith('&') || s.startsWith('*') || s.startsWith('|') || s.startsWith('>') || s.startsWith('!')) {
    throw new YamlSubsetError(line, `unsupported YAML: ${s}`);
  }
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~') return null;
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(s)) return Number(s);
  if (/ #/.test(s)) throw new YamlSubsetError(line, 'comments after a value are not supported');
  return s;
}

function keyName(raw: string): string {
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
}

/** Parses values.yaml; returns the values and the documented keys in file order. */
export function parseValues(text: string): { values: Yaml; docs: ValueDoc[] } {
  const lines: Line[] = [];
  const comments = new Map<number, string>(); // index in `lines` → the `# --` description above it
  let pending: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (raw.includes('\t')) throw new YamlSubsetError({ no: i + 1, indent: 0, text: raw }, 'tabs');
    if (trimmed === '' || trimmed === '---') {
      pending = undefined;
      return;
    }
    if (trimmed.startsWith('#')) {
      const body = trimmed.replace(/^#\s?/, '');
      if (body.startsWith('-- ')) pending = body.slice(3).trim();
      else if (pending !== undefined) pending += ` ${body.trim()}`;
      return;
    }
    if (pending !== undefined) comments.set(lines.length, pending);
    pending = undefined;
    lines.push({ no: i + 1, indent: raw.length - raw.trimStart().length, text: trimmed });
  });

  const docs: ValueDoc[] = [];
  let pos = 0;

  // A block at `indent`: a map (key: ...) or a list (- ...).
  const block = (indent: number, path: string[]): Yaml => {
    const first = lines[pos];
    if (first.text.startsWith('- ') || first.text === '-') return list(indent, path);
    return map(indent, path);
  };
  const value = (rest: string | undefined, line: Line, path: string[]): Yaml => {
    if (rest !== undefined && rest.trim() !== '') return scalar(rest, line);
    const next = lines[pos];
    if (next === undefined || next.indent < line.indent || (next.indent === line.indent && !next.text.startsWith('- '))) return null;
    if (next.indent === line.indent) return list(next.indent, path); // a list at the key's own indent
    return block(next.indent, path);
  };
  const map = (indent: number, path: string[]): Yaml => {
    const out: { [key: string]: Yaml } = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith('- ')) {
      const line = lines[pos];
      const m = KEY_RE.exec(line.text);
      if (!m) throw new YamlSubsetError(line, `not a key: ${line.text}`);
      const key = keyName(m[1]);
      const description = comments.get(pos);
      pos++;
      const v = value(m[2], line, [...path, key]);
      out[key] = v;
      if (description !== undefined) docs.push({ key: [...path, key].join('.'), value: v, description });
    }
    if (pos < lines.length && lines[pos].indent > indent) throw new YamlSubsetError(lines[pos], 'unexpected indentation');
    return out;
  };
  const list = (indent: number, path: string[]): Yaml => {
    const out: Yaml[] = [];
    while (pos < lines.length && lines[pos].indent === indent && (lines[pos].text.startsWith('- ') || lines[pos].text === '-')) {
      const line = lines[pos];
      const rest = line.text.slice(1).trimStart();
      const m = KEY_RE.exec(rest);
      if (m && !rest.startsWith('"')) {
        // `- key: value` and the item's further keys two columns in.
        const inner: Line = { no: line.no, indent: indent + 2, text: rest };
        lines[pos] = inner;
        out.push(map(indent + 2, path));
      } else {
        pos++;
        out.push(scalar(rest, line));
      }
    }
    return out;
  };
  const values = lines.length === 0 ? {} : map(lines[0].indent, []);
  if (pos < lines.length) throw new YamlSubsetError(lines[pos], 'unexpected line');
  return { values, docs };
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The Markdown table of the documented values. */
export function valuesTable(docs: ValueDoc[]): string {
  const rows = docs.map((d) => `| \`${d.key}\` | \`${cell(JSON.stringify(d.value))}\` | ${cell(d.description)} |`);
  return ['| Key | Default | Description |', '| --- | --- | --- |', ...rows].join('\n');
}

/** README text with the table between the markers replaced. */
export function updateReadme(readme: string, valuesYaml: string): string {
  const b = readme.indexOf(BEGIN);
  const e = readme.indexOf(END);
  if (b < 0 || e < b) throw new Error(`README.md lacks the markers ${BEGIN} ... ${END}`);
  const { docs } = parseValues(valuesYaml);
  return `${readme.slice(0, b + BEGIN.length)}\n${valuesTable(docs)}\n${readme.slice(e)}`;
}

if (require.main === module) {
  const readmePath = join(CHART_DIR, 'README.md');
  writeFileSync(readmePath, updateReadme(readFileSync(readmePath, 'utf8'), readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')));
}
