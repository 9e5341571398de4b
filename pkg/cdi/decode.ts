// Strict decoding of a parsed document into typed values, the way the CDI
// reference implementation unmarshals spec files (Go's encoding/json behind
// sigs.k8s.io/yaml's UnmarshalStrict): unknown fields are errors, field
// names match without regard to case, null means absent, and a number or
// boolean where a string belongs is taken as its text.

/** A spec file that cannot be used, with where in it and why. */
export class CdiSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CdiSpecError';
  }
}

const fail = (where: string, what: string): never => {
  throw new CdiSpecError(where ? `${where}: ${what}` : what);
};

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : `${typeof v} ${JSON.stringify(v)}`);

export const join = (where: string, key: string | number): string => (typeof key === 'number' ? `${where}[${key}]` : where ? `${where}.${key}` : key);

/**
 * The fields of an object by their canonical names (`known`); a key that
 * names none of them, or names one twice (in another case), is an error.
 * Null values are left out.
 */
export function fields<K extends string>(value: unknown, where: string, known: readonly K[]): Partial<Record<K, unknown>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(where, `expected a map, found ${describe(value)}`);
  const byFold = new Map(known.map((k) => [k.toLowerCase(), k]));
  const out: Partial<Record<K, unknown>> = {};
  const seen = new Set<K>();
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = known.includes(key as K) ? (key as K) : byFold.get(key.toLowerCase());
    if (name === undefined) fail(where, `unknown field ${JSON.stringify(key)}`);
    if (seen.has(name!)) fail(where, `field ${JSON.stringify(name)} is given twice`);
    seen.add(name!);
    if (v !== null && v !== undefined) out[name!] = v;
  }
  return out;
}

export function string(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return fail(where, `expected a string, found ${describe(value)}`);
}

export function optionalString(value: unknown, where: string): string {
  return value === undefined ? '' : string(value, where);
}

export function integer(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) return fail(where, `expected an integer, found ${describe(value)}`);
  if (value < min || value > max) fail(where, `${value} is out of range (${min} to ${max})`);
  return value;
}

export function boolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') return fail(where, `expected true or false, found ${describe(value)}`);
  return value;
}

export function list<T>(value: unknown, where: string, item: (v: unknown, where: string) => T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(where, `expected a list, found ${describe(value)}`);
  return value.map((v, i) => item(v, join(where, i)));
}

export function stringMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(where, `expected a map, found ${describe(value)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = string(v, join(where, k));
  return out;
}

export const UINT32_MAX = 0xffff_ffff;

export { fail };
