// A small typed schema for krill.toml: each node knows its default, how to
// check a raw TOML value and how to describe itself, so that validation
// messages, `krilld config` and the README reference come from one source.

export class ConfigError extends Error {
  /** `key` is empty for a problem with the file as a whole (unreadable, bad TOML). */
  constructor(
    readonly source: string,
    readonly key: string,
    readonly expected: string,
    readonly got?: string,
  ) {
    const where = key ? `${source}: key "${key}"` : source;
    super(`${where}: expected ${expected}${got === undefined ? '' : `, got ${got}`}`);
    this.name = 'ConfigError';
  }
}

export interface Node<T> {
  readonly kind: string;
  readonly description: string;
  /** The type described to a user: "string", "integer 1..65535", ... */
  readonly expected: string;
  defaultValue(): T;
  /** Checks a raw value from a file; merges it over `base` (for tables). */
  parse(raw: unknown, base: T, source: string, key: string): T;
}

export type Infer<N> = N extends Node<infer T> ? T : never;

function describe(raw: unknown): string {
  if (Array.isArray(raw)) return 'an array';
  if (raw === null) return 'null';
  if (raw instanceof Date) return 'a date';
  if (typeof raw === 'object') return 'a table';
  if (typeof raw === 'string') return `string ${JSON.stringify(raw)}`;
  return `${typeof raw} ${String(raw)}`;
}

function isTable(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && !(raw instanceof Date);
}

function leaf<T>(
  kind: string,
  expected: string,
  def: T,
  description: string,
  check: (raw: unknown) => T | undefined,
): Node<T> {
  return {
    kind,
    description,
    expected,
    defaultValue: () => (Array.isArray(def) ? ([...def] as T) : def),
    parse(raw, _base, source, key) {
      const value = check(raw);
      if (value === undefined) throw new ConfigError(source, key, expected, describe(raw));
      return value;
    },
  };
}

export function str(def: string, description: string, pattern?: RegExp, patternText?: string): Node<string> {
  const expected = pattern ? `a string (${patternText ?? pattern.source})` : 'a string';
  return leaf('string', expected, def, description, (raw) =>
    typeof raw === 'string' && (!pattern || raw === '' || pattern.test(raw)) ? raw : undefined,
  );
}

/** A string that `problem` accepts (it returns undefined), described as `expected`. */
export function checkedStr(def: string, description: string, expected: string, problem: (s: string) => string | undefined): Node<string> {
  const base = leaf('string', expected, def, description, (raw) => (typeof raw === 'string' ? raw : undefined));
  return {
    ...base,
    parse(raw, b, source, key) {
      const value = base.parse(raw, b, source, key);
      const why = problem(value);
      if (why !== undefined) throw new ConfigError(source, key, expected, `${JSON.stringify(value)} (${why})`);
      return value;
    },
  };
}

/** An absolute filesystem path (or empty for "not set", where allowed). */
export function path(def: string, description: string, allowEmpty = false): Node<string> {
  const expected = allowEmpty ? 'an absolute path or ""' : 'an absolute path';
  return leaf('path', expected, def, description, (raw) =>
    typeof raw === 'string' && (raw.startsWith('/') || (allowEmpty && raw === '')) ? raw : undefined,
  );
}

export function int(def: number, description: string, min: number, max: number): Node<number> {
  return leaf('integer', `an integer from ${min} to ${max}`, def, description, (raw) => {
    const n = typeof raw === 'bigint' ? Number(raw) : raw;
    return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  });
}

export function bool(def: boolean, description: string): Node<boolean> {
  return leaf('boolean', 'true or false', def, description, (raw) => (typeof raw === 'boolean' ? raw : undefined));
}

export function oneOf<const V extends string>(values: readonly V[], def: V, description: string): Node<V> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return leaf('enum', expected, def, description, (raw) =>
    typeof raw === 'string' && (values as readonly string[]).includes(raw) ? (raw as V) : undefined,
  );
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "30s", "2m", "1h" into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A duration written as a string ("30s"); the value is in milliseconds. */
export function duration(def: string, description: string): Node<number> {
  const parsed = parseDuration(def);
  if (parsed === undefined) throw new Error(`bad default duration ${def}`);
  return {
    ...leaf('duration', 'a duration such as "500ms", "30s", "5m" or "1h"', parsed, description, (raw) =>
      typeof raw === 'string' ? parseDuration(raw) : undefined,
    ),
    kind: 'duration',
  };
}

export function list<T>(item: Node<T>, def: T[], description: string): Node<T[]> {
  // "an absolute path" → "an array of absolute paths"; "a string (a URL)" → "an array of strings (a URL)".
  const expected = `an array of ${item.expected.replace(/^an? /, '').replace(/^([^(]+?)( \(|$)/, '$1s$2')}`;
  return {
    kind: 'list',
    description,
    expected,
    defaultValue: () => [...def],
    parse(raw, _base, source, key) {
      if (!Array.isArray(raw)) throw new ConfigError(source, key, expected, describe(raw));
      return raw.map((v, i) => item.parse(v, item.defaultValue(), source, `${key}[${i}]`));
    },
  };
}

export type Shape = Record<string, Node<unknown>>;
export type InferShape<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

export interface TableNode<S extends Shape> extends Node<InferShape<S>> {
  readonly shape: S;
}

/** A table with a fixed set of keys; an unknown key is an error. */
export function table<S extends Shape>(shape: S, description = ''): TableNode<S> {
  const keys = Object.keys(shape);
  return {
    kind: 'table',
    description,
    expected: 'a table',
    shape,
    defaultValue() {
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = shape[k]!.defaultValue();
      return out as InferShape<S>;
    },
    parse(raw, base, source, key) {
      if (!isTable(raw)) throw new ConfigError(source, key, 'a table', describe(raw));
      const out: Record<string, unknown> = { ...base };
      for (const [k, v] of Object.entries(raw)) {
        const child = shape[k];
        const childKey = key ? `${key}.${k}` : k;
        if (!child) {
          throw new ConfigError(source, childKey, `one of the known keys (${keys.join(', ')})`, 'an unknown key');
        }
        out[k] = child.parse(v, (base as Record<string, unknown>)[k], source, childKey);
      }
      return out as InferShape<S>;
    },
  };
}

export interface MapNode<T> extends Node<Record<string, T>> {
  readonly value: Node<T>;
}

/**
 * A table whose keys are names chosen by the user (registries, handlers).
 * Entries merge per name: a drop-in may change one field of one entry.
 */
export function map<T>(value: Node<T>, def: Record<string, T>, description: string, keyPattern?: RegExp): MapNode<T> {
  return {
    kind: 'map',
    description,
    expected: 'a table of named entries',
    value,
    defaultValue: () => structuredClone(def),
    parse(raw, base, source, key) {
      if (!isTable(raw)) throw new ConfigError(source, key, 'a table of named entries', describe(raw));
      const out: Record<string, T> = { ...base };
      for (const [name, v] of Object.entries(raw)) {
        const childKey = `${key}.${/^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name)}`;
        if (keyPattern && !keyPattern.test(name)) {
          throw new ConfigError(source, childKey, `a name matching ${keyPattern.source}`, JSON.stringify(name));
        }
        out[name] = value.parse(v, base[name] ?? value.defaultValue(), source, childKey);
      }
      return out;
    },
  };
}
